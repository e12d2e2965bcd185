import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PHONEME_INVENTORY, idsToTokens, phonemeIds, phonemize, wordPhonemes } from '../../../electron/core/text/phonemes.ts';

test('the inventory is pinned: 74 tokens in a fixed order', () => {
  assert.equal(PHONEME_INVENTORY.length, 74);
  assert.equal(new Set(PHONEME_INVENTORY).size, PHONEME_INVENTORY.length, 'no duplicates');
  assert.deepEqual(PHONEME_INVENTORY.slice(0, 6), ['_', '<,>', '<.>', '<?>', '<!>', 'B']);
  assert.deepEqual(PHONEME_INVENTORY.slice(-3), ['UW0', 'UW1', 'UW2']);
  // Any reorder, insertion or rename changes this digest; trained models depend on it.
  const digest = createHash('sha1').update(PHONEME_INVENTORY.join(' ')).digest('hex');
  assert.equal(digest, '58427e7b1d48f7b72e6f4628862b6b58edf71dd8');
  assert.ok(Object.isFrozen(PHONEME_INVENTORY));
});

test('dictionary words with stress, boundaries and pauses', () => {
  assert.deepEqual(phonemize('Hello, world.'), ['HH', 'AH0', 'L', 'OW1', '<,>', 'W', 'ER1', 'L', 'D', '<.>']);
  assert.deepEqual(phonemize('How are you?'), ['HH', 'AW1', '_', 'AA1', 'R', '_', 'Y', 'UW1', '<?>']);
  assert.deepEqual(phonemize('Go!'), ['G', 'OW1', '<!>']);
  // No pause is invented at the end, and runs of marks keep the strongest.
  assert.deepEqual(phonemize('yes'), ['Y', 'EH1', 'S']);
  assert.deepEqual(phonemize('yes?!.'), ['Y', 'EH1', 'S', '<?>']);
  assert.deepEqual(phonemize('"Yes," no'), ['Y', 'EH1', 'S', '<,>', 'N', 'OW1']);
});

test('numbers and symbols are normalised before lookup', () => {
  assert.deepEqual(phonemize('3 & 4'), ['TH', 'R', 'IY1', '_', 'AH0', 'N', 'D', '_', 'F', 'AO1', 'R']);
});

test('spelled letters read as names; a lone "A" is the article', () => {
  assert.deepEqual(phonemize('USB'), ['Y', 'UW1', 'EH1', 'S', 'B', 'IY1']); // the dictionary's entry
  assert.deepEqual(phonemize('XQZ'), ['EH1', 'K', 'S', '_', 'K', 'Y', 'UW1', '_', 'Z', 'IY1']);
  assert.deepEqual(phonemize('A dog'), ['AH0', '_', 'D', 'AO1', 'G']);
  assert.deepEqual(phonemize('A B'), ['EY1', '_', 'B', 'IY1']);
});

test('possessives of known stems follow the stem', () => {
  // None of these possessives is listed; their stems are.
  assert.deepEqual(wordPhonemes("gnome's"), ['N', 'OW1', 'M', 'Z']);
  assert.deepEqual(wordPhonemes("linux's"), ['L', 'IH1', 'N', 'AH0', 'K', 'S', 'IH0', 'Z']);
  assert.deepEqual(wordPhonemes("bach's"), ['B', 'AA1', 'K', 'S']);
});

test('unknown words get a pronunciation from letter-to-sound, deterministically', () => {
  const first = phonemize('frobnicator zyxtrelmof');
  assert.ok(first.length > 8);
  assert.ok(first.every((t) => PHONEME_INVENTORY.includes(t)));
  assert.deepEqual(phonemize('frobnicator zyxtrelmof'), first);
});

test('empty, whitespace-only, emoji-only and punctuation-only text give no phonemes', () => {
  for (const text of ['', '   \n ', '😀👍🏽', '...', '?!', '\u0000']) assert.deepEqual(phonemeIds(text), [], JSON.stringify(text));
});

test('ids index the inventory and round-trip to tokens', () => {
  const text = "Dr. Smith paid $5.20 for 3 apples at 10:30, didn't he? Привет 😀 café!";
  const ids = phonemeIds(text);
  assert.ok(ids.length > 20);
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < PHONEME_INVENTORY.length));
  assert.deepEqual(idsToTokens(ids), phonemize(text));
});

test('a 50,000-character word gives a finite, valid id sequence', () => {
  const ids = phonemeIds('b'.repeat(50_000));
  assert.ok(ids.length > 0);
  assert.ok(ids.every((id) => id >= 0 && id < PHONEME_INVENTORY.length));
});

test('object-prototype names are ordinary words', () => {
  const tokens = phonemize('constructor toString valueOf __proto__');
  assert.ok(tokens.every((t) => PHONEME_INVENTORY.includes(t)));
});

test('words the normaliser emits have listed pronunciations', () => {
  assert.deepEqual(phonemize('Ms. Smith'), ['M', 'IH1', 'Z', '_', 'S', 'M', 'IH1', 'TH']);
  assert.deepEqual(phonemize('5 GiB').slice(-4), ['B', 'AY2', 'T', 'S']);
});
