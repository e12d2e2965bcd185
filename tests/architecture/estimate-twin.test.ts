/**
 * The studio estimates a text's duration and its audio's size in the renderer, which may import only the
 * IPC contract's types, so renderer/src/lib/estimate.ts repeats the core's rules
 * (electron/core/pipeline/estimate.ts, electron/core/audio/formats.ts). contract-conformance.ts proves
 * their constants equal; this test proves the two rules give the same numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUDIO_FORMATS, estimateBytes } from '../../electron/core/audio/formats.ts';
import { estimateSpeech } from '../../electron/core/pipeline/estimate.ts';
import { estimateBytes as studioBytes, estimateSeconds as studioSeconds } from '../../renderer/src/lib/estimate.ts';

const TEXTS = [
  '',
  'One sentence without a stop',
  'The old lighthouse stood at the edge of the cliff. It watched the restless sea!',
  'A first paragraph. With two sentences.\n\nA second one… "Quoted?" Yes.\n \n\nThird.',
  '  spaced   words\tand\ttabs.  ',
];

test('the studio estimates the same duration as the core, at every rate and pause', () => {
  for (const text of TEXTS) {
    for (const options of [{}, { rate: 1.5 }, { rate: 0.5, sentencePauseSeconds: 0, paragraphPauseSeconds: 2 }]) {
      assert.equal(studioSeconds(text, options), estimateSpeech(text, options).seconds, JSON.stringify({ text, options }));
    }
  }
});

test('the studio estimates the same size as the core for every format', () => {
  for (const format of AUDIO_FORMATS) {
    for (const seconds of [0, 1.5, 3600]) {
      for (const sampleRate of [16000, 24000]) assert.equal(studioBytes(format, seconds, sampleRate), estimateBytes(format, seconds, sampleRate), format);
    }
  }
});
