import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configDir } from '../../../electron/core/config-dir.ts';
import { lookupWord } from '../../../electron/core/text/lexicon.ts';
import { letterToSound } from '../../../electron/core/text/letter-to-sound.ts';
import { LexiconFileError, lexiconPath, readLexiconFile, writeLexiconFile } from '../../../electron/core/text/lexicon-file.ts';
import { normalizeText } from '../../../electron/core/text/normalize.ts';
import { idsToTokens, phonemize } from '../../../electron/core/text/phonemes.ts';
import { prepareDocument } from '../../../electron/core/text/prepare.ts';
import { compileLexicon, LexiconEntryError, makeEntry, parsePronunciation, withEntry, withoutWord } from '../../../electron/core/text/user-lexicon.ts';
import { sentenceWordTimings } from '../../../electron/core/pipeline/word-timing.ts';

const phonemes = (text: string): string => phonemize(text, { lexicon: LEXICON }).join(' ');
const LEXICON = compileLexicon([makeEntry('Nguyen', 'win'), makeEntry('tomato', 'T AH0 M AA1 T OW0'), makeEntry('Zyxtrelmof', 'Z IH1 K S T R EH0 L')]);

test('an entry wins over the dictionary, in any case, and the text without a lexicon reads as before', () => {
  assert.deepEqual(lookupWord('tomato'), ['T', 'AH0', 'M', 'EY1', 'T', 'OW2'], 'the dictionary says otherwise');
  assert.equal(phonemes('A tomato.'), 'AH0 _ T AH0 M AA1 T OW0 <.>');
  assert.equal(phonemes('TOMATO Tomato'), 'T AH0 M AA1 T OW0 _ T AH0 M AA1 T OW0');
  assert.equal(phonemize('A tomato.').join(' '), 'AH0 _ T AH0 M EY1 T OW2 <.>');
});

test('an entry wins over letter-to-sound, and a respelling is read with the dictionary, as one word', () => {
  assert.notDeepEqual(letterToSound('zyxtrelmof'), ['Z', 'IH1', 'K', 'S', 'T', 'R', 'EH0', 'L']);
  assert.equal(phonemes('zyxtrelmof'), 'Z IH1 K S T R EH0 L');
  assert.deepEqual(lookupWord('win'), ['W', 'IH1', 'N']);
  assert.equal(phonemes('Nguyen said'), 'W IH1 N _ S EH1 D');
  // Accents are ignored as the normaliser strips them; a possessive takes the entry's stem.
  assert.equal(phonemes('Nguyễn'), 'W IH1 N');
  assert.equal(phonemes("Nguyen's"), 'W IH1 N Z');
  // A respelling of several words is said as one word: no boundary inside it.
  assert.deepEqual(compileLexicon([makeEntry('Siobhan', 'she vaughn')]).get('siobhan'), [...lookupWord('she')!, ...lookupWord('vaughn')!]);
});

test('a listed word is kept whole by the normaliser: not spelled, not split at its capitals', () => {
  const lexicon = compileLexicon([makeEntry('NGINX', 'engine x'), makeEntry('QuixBar', 'quicks bar')]);
  assert.equal(normalizeText('NGINX'), 'N G I N X');
  assert.equal(normalizeText('NGINX', { lexicon }), 'NGINX');
  assert.equal(normalizeText('QuixBar'), 'Quix Bar');
  assert.equal(normalizeText('QuixBar', { lexicon }), 'QuixBar');
  assert.equal(phonemize('nginx runs', { lexicon }).join(' '), 'EH1 N JH AH0 N EH1 K S _ R AH1 N Z');
});

test('text preparation takes the lexicon as an option; word timings count a listed word once', () => {
  const lexicon = compileLexicon([makeEntry('QuixBar', 'K W IH1 K S B AA2 R')]);
  const [plain] = prepareDocument('QuixBar is here.');
  const [mine] = prepareDocument('QuixBar is here.', { lexicon });
  assert.equal(idsToTokens(mine.phonemeIds).join(' '), 'K W IH1 K S B AA2 R _ IH1 Z _ HH IY1 R <.>');
  // Without the entry the word is split at its capital and says two words.
  assert.equal(idsToTokens(plain.phonemeIds).filter((t) => t === '_').length, 3);
  // Word timings count the listed word once; counted as two, it would take "is"'s time as well.
  const timing = (lex?: typeof lexicon) =>
    sentenceWordTimings({
      text: mine.text,
      start: 0,
      phonemeIds: mine.phonemeIds,
      unitCount: 30,
      alignment: null,
      offsetSeconds: 0,
      durationSeconds: 1,
      lexicon: lex,
    });
  assert.deepEqual(
    timing(lexicon).map((w) => w.text),
    ['QuixBar', 'is', 'here.'],
  );
  assert.deepEqual(
    timing(undefined).map((w) => w.text),
    ['QuixBar', 'here.'],
  );
});

test('pronunciations: ARPAbet in capitals or with stress digits, anything else a respelling', () => {
  assert.deepEqual(parsePronunciation('W IH1 N'), { phonemes: ['W', 'IH1', 'N'] });
  assert.deepEqual(parsePronunciation('w ih1 n'), { phonemes: ['w', 'ih1', 'n'] });
  assert.deepEqual(parsePronunciation('SH'), { phonemes: ['SH'] });
  assert.deepEqual(parsePronunciation('win'), { respelling: 'win' });
  assert.deepEqual(parsePronunciation('WIN'), { respelling: 'WIN' });
  assert.deepEqual(parsePronunciation('sh', 'phonemes'), { phonemes: ['sh'] });
  assert.deepEqual(parsePronunciation('SH', 'respelling'), { respelling: 'SH' });
  assert.deepEqual(makeEntry('Nguyen', 'n w ih1 n'), { word: 'Nguyen', phonemes: ['N', 'W', 'IH1', 'N'] });
});

test('entries are checked: phonemes in the inventory, a vowel with its stress, a pronounceable respelling, one word', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['Foo', 'F AH', /vowel AH needs a stress digit/],
    ['Foo', 'F XX1', /"XX1" is not an ARPAbet phoneme/],
    ['Foo', 'F UW1 _', /"_" is not an ARPAbet phoneme/],
    ['Foo', '日本', /Latin letters/],
    ['Foo', "' -", /nothing the voice can say/],
    ['Foo', '', /respelling is empty/],
    ['two words', 'win', /not one word/],
    ['R2D2', 'win', /not one word/],
    ['', 'win', /word is empty/],
    ['a'.repeat(65), 'win', /longer than 64/],
    ['Foo', 'B '.repeat(41), /at most 40/],
  ];
  for (const [word, pron, message] of refused)
    assert.throws(
      () => makeEntry(word, pron),
      (e: Error) => e instanceof LexiconEntryError && message.test(e.message),
      `${word} ${pron}`,
    );
});

test('adding replaces the same word in any case; removing says whether it was there', () => {
  let entries = withEntry([], makeEntry('Nguyen', 'win'));
  entries = withEntry(entries, makeEntry('apple', 'AE1 P AH0 L'));
  entries = withEntry(entries, makeEntry('NGUYEN', 'when'));
  assert.deepEqual(
    entries.map((e) => e.word),
    ['apple', 'NGUYEN'],
  );
  assert.deepEqual(
    withoutWord(entries, 'nguyen')?.map((e) => e.word),
    ['apple'],
  );
  assert.equal(withoutWord(entries, 'pear'), null);
});

test('the file round-trips; no file is an empty lexicon, without a notice', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-lexicon-'));
  const file = lexiconPath(path.join(dir, 'nested'));
  assert.deepEqual(await readLexiconFile(file), { entries: [], notice: null, exists: false });
  const entries = [makeEntry('Nguyen', 'win'), makeEntry('tomato', 'T AH0 M AA1 T OW0')];
  await writeLexiconFile(file, entries);
  const text = await readFile(file, 'utf8');
  assert.deepEqual(JSON.parse(text), {
    format: 'spear-lexicon',
    version: 1,
    entries: [
      { word: 'Nguyen', respelling: 'win' },
      { word: 'tomato', phonemes: 'T AH0 M AA1 T OW0' },
    ],
  });
  assert.deepEqual(await readLexiconFile(file), { entries, notice: null, exists: true });
  assert.deepEqual(await readdir(path.dirname(file)), ['lexicon.json'], 'no temporary file left');
});

test('a damaged file is ignored with one line (or refused when strict); a bad entry is skipped with one line', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-lexicon-'));
  const file = path.join(dir, 'lexicon.json');
  const cases: Array<[string, RegExp]> = [
    ['{ "format": "spear-lexicon", ', /is not valid JSON/],
    ['[1, 2]', /is not a Spear Studio lexicon/],
    ['{"format":"spear-lexicon","version":2,"entries":[]}', /is lexicon version 2; this Spear Studio reads version 1/],
    ['{"format":"other","version":1,"entries":[]}', /is not a Spear Studio lexicon \(format/],
  ];
  for (const [content, message] of cases) {
    await writeFile(file, content);
    const read = await readLexiconFile(file);
    assert.deepEqual(read.entries, []);
    assert.match(read.notice ?? '', message);
    assert.match(read.notice ?? '', /; it is ignored$/);
    assert.doesNotMatch(read.notice ?? '', /\n/);
    await assert.rejects(readLexiconFile(file, { strict: true }), (e: Error) => e instanceof LexiconFileError && message.test(e.message));
  }
  await writeFile(
    file,
    JSON.stringify({
      format: 'spear-lexicon',
      version: 1,
      entries: [{ word: 'Nguyen', respelling: 'win' }, { word: 'bad', phonemes: 'B QQ1 D' }, { word: 'x' }],
    }),
  );
  const read = await readLexiconFile(file);
  assert.deepEqual(read.entries, [{ word: 'Nguyen', respelling: 'win' }]);
  assert.equal(
    read.notice,
    `lexicon: ${file}: 2 entries skipped ("bad": "QQ1" is not an ARPAbet phoneme; consonants are B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH; vowels are AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW, each with a stress digit 0, 1 or 2; …)`,
  );
});

test('the config folder: SPEAR_CONFIG_DIR, then the platform’s place', () => {
  assert.equal(configDir({ SPEAR_CONFIG_DIR: '/x/y' }, 'linux', '/home/u'), '/x/y');
  assert.equal(configDir({ XDG_CONFIG_HOME: '/cfg' }, 'linux', '/home/u'), '/cfg/spear-studio');
  assert.equal(configDir({ XDG_CONFIG_HOME: 'relative' }, 'linux', '/home/u'), '/home/u/.config/spear-studio');
  assert.equal(configDir({}, 'linux', '/home/u'), '/home/u/.config/spear-studio');
  assert.equal(configDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/spear-studio');
  assert.equal(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u'), path.join('C:\\Users\\u\\AppData\\Roaming', 'spear-studio'));
});
