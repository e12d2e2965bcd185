import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpusWer, werWords, wordErrors } from '../../../electron/core/eval/wer.ts';

test('word errors count substitutions, deletions and insertions', () => {
  assert.equal(wordErrors(['a', 'b', 'c'], ['a', 'b', 'c']), 0);
  assert.equal(wordErrors(['a', 'b', 'c'], ['a', 'x', 'c']), 1);
  assert.equal(wordErrors(['a', 'b', 'c'], ['a', 'c']), 1);
  assert.equal(wordErrors(['a', 'b'], ['a', 'b', 'c', 'd']), 2);
  assert.equal(wordErrors([], ['a']), 1);
});

test('references are compared as spoken words (numbers read out, punctuation dropped)', () => {
  assert.deepEqual(werWords('It costs $5, Dr. Smith!'), werWords('it costs five dollars doctor smith'));
  const { wer, words } = corpusWer([
    { reference: 'The cat sat.', hypothesis: 'the cat sat' },
    { reference: 'On 3 mats', hypothesis: 'on tree mats' },
  ]);
  assert.equal(words, 6);
  assert.ok(Math.abs(wer - 100 / 6) < 1e-9);
});
