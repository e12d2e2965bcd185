import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitSentences, type Sentence, type SplitOptions } from '../../../electron/core/text/sentences.ts';

/** The spans are ordered, disjoint, trimmed, equal to their text, and cover every non-space character. */
function assertSpanInvariant(doc: string, sentences: readonly Sentence[]): void {
  let previousEnd = 0;
  let covered = 0;
  for (const s of sentences) {
    assert.ok(s.start >= previousEnd, `span ${s.start} overlaps the previous one ending at ${previousEnd}`);
    assert.ok(s.end > s.start);
    assert.equal(s.text, doc.slice(s.start, s.end));
    assert.match(s.text, /^\S/);
    assert.match(s.text, /\S$/);
    assert.equal(doc.slice(previousEnd, s.start).trim(), '', 'a non-space character fell between spans');
    covered += s.text.replace(/\s/g, '').length;
    previousEnd = s.end;
  }
  assert.equal(doc.slice(previousEnd).trim(), '');
  assert.equal(covered, doc.replace(/\s/g, '').length);
}

function texts(doc: string, options?: SplitOptions): string[] {
  const sentences = splitSentences(doc, options);
  assertSpanInvariant(doc, sentences);
  return sentences.map((s) => s.text);
}

test('splits at terminators, keeps spans in the original text', () => {
  const doc = '  Hello there.  How are you?I am fine! Really.';
  const sentences = splitSentences(doc);
  assert.deepEqual(
    sentences.map((s) => [s.text, s.start, s.end]),
    [
      ['Hello there.', 2, 14],
      ['How are you?I am fine!', 16, 38],
      ['Really.', 39, 46],
    ],
  );
  assertSpanInvariant(doc, sentences);
});

test('abbreviations, initials, decimals and ellipses do not split', () => {
  assert.deepEqual(texts('Dr. Smith paid $5.20 for it. Mr. Jones agreed, e.g. Bob did.'), ['Dr. Smith paid $5.20 for it.', 'Mr. Jones agreed, e.g. Bob did.']);
  assert.deepEqual(texts('J. R. R. Tolkien wrote it. Pi is 3.14 or so.'), ['J. R. R. Tolkien wrote it.', 'Pi is 3.14 or so.']);
  assert.deepEqual(texts('Wait... what? Well... Fine.'), ['Wait... what?', 'Well...', 'Fine.']);
  assert.deepEqual(texts('We sell apples, pears, etc. Then we close.'), ['We sell apples, pears, etc.', 'Then we close.']);
  assert.deepEqual(texts('See No. 5 now. Say no. Then go.'), ['See No. 5 now.', 'Say no.', 'Then go.']);
  assert.deepEqual(texts('Wait 10 sec. See Sec. 3 below.'), ['Wait 10 sec.', 'See Sec. 3 below.']);
});

test('closing quotes and brackets stay with their sentence', () => {
  assert.deepEqual(texts('He said "Stop." Then he left. (It was late.) Fine.'), ['He said "Stop."', 'Then he left.', '(It was late.)', 'Fine.']);
});

test('paragraphs, list items and headings are hard boundaries; wrapped lines are not', () => {
  const doc = 'Introduction\nThis text was\nwrapped at a narrow width.\n\nSecond paragraph without a period\n\n- item one\n- item two';
  assert.deepEqual(texts(doc), ['Introduction', 'This text was\nwrapped at a narrow width.', 'Second paragraph without a period', '- item one', '- item two']);
});

test('long sentences are cut at a clause boundary near the middle, else at the word cap', () => {
  const clause = 'one two three four five six seven eight nine ten eleven twelve';
  const doc = `${clause}, ${clause}, ${clause}.`;
  const pieces = texts(doc, { maxWords: 30 });
  assert.ok(pieces.length >= 2);
  for (const piece of pieces) assert.ok(piece.split(/\s+/).length <= 30, piece);
  assert.ok(pieces[0].endsWith(','), 'the first cut is at a comma');

  const words = Array.from({ length: 95 }, () => 'word').join(' ');
  const capped = texts(words, { maxWords: 30 });
  assert.deepEqual(
    capped.map((p) => p.split(' ').length),
    [30, 30, 30, 5],
  );
});

test('numbers weigh their digits against the word cap', () => {
  const doc = Array.from({ length: 10 }, () => '12345').join(' ');
  const pieces = texts(doc, { maxWords: 20 });
  for (const piece of pieces) assert.ok(piece.split(' ').length <= 4, piece);
});

test('a 50,000-character word is chunked, not hung on', () => {
  const doc = `Start. ${'X'.repeat(50_000)} end.`;
  const sentences = splitSentences(doc, { maxWords: 30, maxWordChars: 40 });
  assertSpanInvariant(doc, sentences);
  for (const s of sentences) assert.ok(s.text.length <= 30 * 41, `${s.text.length} characters`);
  assert.equal(sentences[0].text, 'Start.');
});

test('emoji are never cut in half by chunking', () => {
  const doc = '😀'.repeat(1000);
  const sentences = splitSentences(doc, { maxWordChars: 7 });
  assertSpanInvariant(doc, sentences);
  for (const s of sentences) assert.doesNotMatch(s.text, /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
});

test('empty, whitespace-only and mixed unicode documents', () => {
  assert.deepEqual(splitSentences(''), []);
  assert.deepEqual(splitSentences(' \n\n\t '), []);
  assert.deepEqual(texts('Café au lait. Привет мир! 你好。 😀'), ['Café au lait.', 'Привет мир!', '你好。 😀']);
});

test('a list label is not a sentence of its own', () => {
  assert.deepEqual(texts('a. The first point.\nb. The second one.\n\n1. Install it. 2. Run it.'), [
    'a. The first point.',
    'b. The second one.',
    '1. Install it.',
    '2. Run it.',
  ]);
});
