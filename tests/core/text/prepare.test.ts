import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareDocument } from '../../../electron/core/text/prepare.ts';
import { PHONEME_INVENTORY } from '../../../electron/core/text/phonemes.ts';

test('each prepared sentence keeps its span, normalised text and ids', () => {
  const doc = 'Dr. Smith paid $5.20.\n\nIs it 3.14? 😀';
  const sentences = prepareDocument(doc);
  assert.deepEqual(
    sentences.map((s) => [doc.slice(s.start, s.end), s.normalized]),
    [
      ['Dr. Smith paid $5.20.', 'doctor Smith paid five dollars and twenty cents.'],
      ['Is it 3.14?', 'Is it three point one four?'],
      ['😀', ''],
    ],
  );
  assert.deepEqual(sentences[2].phonemeIds, []);
  for (const s of sentences) assert.ok(s.phonemeIds.every((id) => id >= 0 && id < PHONEME_INVENTORY.length));
});

test('sentences over the phoneme budget are split again, spans still exact', () => {
  const doc = `${Array.from({ length: 29 }, () => 'extraordinarily').join(' ')}.`;
  const sentences = prepareDocument(doc, { maxPhonemes: 60 });
  assert.ok(sentences.length > 1);
  for (const s of sentences) {
    assert.equal(doc.slice(s.start, s.end), s.text);
    assert.ok(s.phonemeIds.length <= 60, `${s.phonemeIds.length} phonemes`);
  }
});

test('empty and whitespace-only documents give no sentences', () => {
  assert.deepEqual(prepareDocument(''), []);
  assert.deepEqual(prepareDocument(' \n\t '), []);
});
