/** The corpus builders (native-models/tools/data/): roff and plain-text paragraphs, sentence selection and splits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manPageParagraphs, stripEscapes } from '../../../native-models/tools/data/roff.ts';
import { plainTextParagraphs } from '../../../native-models/tools/data/gather.ts';
import { isCleanSource, isReadable, selectCorpus, sentenceHash, splitOf } from '../../../native-models/tools/data/select.ts';
import { phonemeIds } from '../../../electron/core/text/phonemes.ts';

test('roff: escapes become plain text', () => {
  const stripped = stripEscapes(String.raw`Use \fBls\fR \-l to list \(lqfiles\(rq\(em all of them.`);
  assert.equal(stripped.replace(/\s+/g, ' '), 'Use ls -l to list "files" -- all of them.');
  assert.equal(stripEscapes(String.raw`a\&b \e c\s-1d\s0`), String.raw`ab \ cd`);
});

test('roff: prose survives; synopsis, no-fill blocks and item tags do not', () => {
  const page = [
    '.TH LS 1',
    '.SH NAME',
    'ls \\- list directory contents',
    '.SH SYNOPSIS',
    '.B ls',
    '[\\fIOPTION\\fR]...',
    '.SH DESCRIPTION',
    'List information about the files.',
    '.B Sort',
    'entries alphabetically.',
    '.PP',
    '.nf',
    'code block line',
    '.fi',
    '.TP',
    '.BR \\-a ", " \\-\\-all',
    'Do not ignore entries starting with a dot.',
  ].join('\n');
  assert.deepEqual(manPageParagraphs(page), ['List information about the files. Sort entries alphabetically.', 'Do not ignore entries starting with a dot.']);
});

test('plain text: code fences, indented code and headings are dropped', () => {
  const text = '# Title\n\nSome prose here\nwrapped over lines.\n\n```\ncode();\n```\n\n    indented code\n\nMore prose.';
  assert.deepEqual(plainTextParagraphs(text), ['Some prose here wrapped over lines.', 'More prose.']);
});

test('clean-source filter keeps prose and rejects code, paths, options and version soup', () => {
  assert.ok(isCleanSource('The program reads the configuration file at startup.'));
  for (const bad of [
    'Use the --verbose flag to see more.',
    'See /etc/passwd for the list of users.',
    'Call foo(bar) before returning.',
    'Upgrade to 1.2.3 or 4.5.6 as soon as possible.',
    'see the manual page.',
    'The GVariant type is used here.',
  ])
    assert.ok(!isCleanSource(bad), bad);
});

test('readable: every spoken word in the dictionary, one sentence, 3 to 25 words', () => {
  assert.ok(isReadable('The program reads the file.', 3, 25));
  assert.ok(isReadable('It uses the U S B port.', 3, 25));
  assert.ok(!isReadable('The frobnicator reads the file.', 3, 25));
  assert.ok(!isReadable('It reads. Then it writes.', 3, 25));
  assert.ok(!isReadable('Reads files.', 3, 25));
});

test('splits and ids are a stable function of the normalised text', () => {
  const hash = sentenceHash('The program reads the file.');
  assert.equal(hash.subarray(0, 8).toString('hex'), sentenceHash('The program reads the file.').subarray(0, 8).toString('hex'));
  const counts = { train: 0, val: 0, test: 0 };
  for (let i = 0; i < 20_000; i++) counts[splitOf(sentenceHash(`sentence ${i}.`), 0.02, 0.025)]++;
  assert.ok(Math.abs(counts.val / 20_000 - 0.02) < 0.004, JSON.stringify(counts));
  assert.ok(Math.abs(counts.test / 20_000 - 0.025) < 0.004, JSON.stringify(counts));
});

test('selection writes normalised text with matching phoneme ids, deduplicated', () => {
  const paragraphs = [
    { source: 'man:a.1', text: 'The program reads the file. The program reads the file. It writes 3 lines to the output.' },
    { source: 'man:b.1', text: 'Use the --verbose flag. The daemon starts at boot time.' },
  ];
  const { splits } = selectCorpus(paragraphs, { valFraction: 0, testFraction: 0 });
  const texts = splits.train.map((e) => e.text).sort();
  assert.deepEqual(texts, ['It writes three lines to the output.', 'The daemon starts at boot time.', 'The program reads the file.']);
  for (const entry of splits.train) {
    assert.match(entry.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(entry.phonemes, phonemeIds(entry.text));
  }
});

test('select: growing train with evalUntilTrain and extraCaps keeps the first selection and its held-out splits', () => {
  // 120 distinct clean sentences from one source: the per-source cap (12) stops the first pass.
  const words = ['red', 'green', 'blue', 'black', 'white', 'brown', 'small', 'large', 'old', 'new', 'warm', 'cold'];
  const sentences = words.flatMap((a) => words.slice(0, 10).map((b) => `The ${a} box holds a ${b} cup.`));
  const paragraphs = [{ source: 'man:one.1', text: sentences.join(' ') }];
  const options = { valFraction: 0.2, testFraction: 0.2, maxPerOpening: 1000 };
  const base = selectCorpus(paragraphs, { ...options, targetTrain: 5 });
  const grown = selectCorpus(paragraphs, { ...options, targetTrain: 40, evalUntilTrain: 5, extraCaps: [1000, 1000, 1000] });
  assert.ok(base.splits.train.length <= 5);
  assert.ok(grown.splits.train.length > base.splits.train.length);
  assert.deepEqual(grown.splits.train.slice(0, base.splits.train.length), base.splits.train);
  assert.deepEqual(grown.splits.val, base.splits.val);
  assert.deepEqual(grown.splits.test, base.splits.test);
  // Without the second pass the per-source cap holds.
  const capped = selectCorpus(paragraphs, { ...options, targetTrain: 40, evalUntilTrain: 5 });
  assert.ok(capped.splits.train.length + capped.splits.val.length + capped.splits.test.length <= 12);
});
