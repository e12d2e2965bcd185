import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimateSpeech, SPEECH_ESTIMATE } from '../../../electron/core/pipeline/estimate.ts';
import { PAUSE_SECONDS } from '../../../electron/core/pipeline/synthesize.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test("the estimate's pauses are the pipeline's", () => {
  assert.equal(SPEECH_ESTIMATE.sentencePauseSeconds, PAUSE_SECONDS.sentence);
  assert.equal(SPEECH_ESTIMATE.paragraphPauseSeconds, PAUSE_SECONDS.paragraph);
});

test('words, sentences and paragraph breaks are counted; pauses fall between sentences', () => {
  const e = estimateSpeech('One two three. Four five!\n\nSix seven? Eight…');
  assert.deepEqual({ words: e.words, sentences: e.sentences, paragraphBreaks: e.paragraphBreaks }, { words: 8, sentences: 4, paragraphBreaks: 1 });
  assert.ok(Math.abs(e.seconds - (8 * SPEECH_ESTIMATE.secondsPerWord + 2 * 0.3 + 0.6)) < 1e-9);
  assert.deepEqual(estimateSpeech('  \n '), { words: 0, sentences: 0, paragraphBreaks: 0, seconds: 0 });
  assert.equal(estimateSpeech('no end mark').sentences, 1);
  // 3.14 and e.g. inside a sentence do not end it.
  assert.equal(estimateSpeech('Pi is 3.14 or so, e.g.like that. Yes.').sentences, 2);
});

test('the bench texts (one paragraph a line) estimate at their measured 110.76 s', () => {
  const lines = readFileSync(path.join(ROOT, 'electron/core/eval/bench-texts.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const e = estimateSpeech(lines.join('\n\n'));
  assert.equal(e.paragraphBreaks, 23);
  assert.ok(Math.abs(e.seconds - 110.76) < 1.5, `${e.seconds} s`);
});

test('a faster rate shortens the speech, not the pauses', () => {
  const text = 'A sentence of some words here. Another sentence follows it.';
  const slow = estimateSpeech(text);
  const fast = estimateSpeech(text, { rate: 2 });
  const pause = SPEECH_ESTIMATE.sentencePauseSeconds;
  assert.ok(Math.abs(fast.seconds - pause - (slow.seconds - pause) / 2) < 1e-9);
  assert.ok(Math.abs(estimateSpeech(text, { sentencePauseSeconds: 1 }).seconds - slow.seconds - (1 - pause)) < 1e-9);
});

test("the studio's estimates are the core's (same rule, same constants)", async () => {
  const studio = await import('../../../renderer/src/lib/estimate.ts');
  const { estimateBytes } = await import('../../../electron/core/audio/formats.ts');
  for (const text of ['One two. Three!\n\nFour five six? Seven', 'x', '', 'A b c. D e f. G h i.\n \nJ k.']) {
    for (const rate of [0.5, 1, 1.7]) assert.equal(studio.estimateSeconds(text, { rate }), estimateSpeech(text, { rate }).seconds, text);
  }
  for (const format of ['wav', 'flac', 'opus', 'mp3'] as const) assert.equal(studio.estimateBytes(format, 123.4, 16000), estimateBytes(format, 123.4, 16000));
});
