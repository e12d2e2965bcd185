import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateOptions, RecognizerError, transcribe } from '../../../electron/core/eval/pocketsphinx.ts';

test('pocketsphinx reads 16 kHz as it is, and other rates with their rate and an FFT that holds 25.6 ms', () => {
  assert.deepEqual(rateOptions(16000), []);
  assert.deepEqual(rateOptions(24000), ['-samprate', '24000', '-nfft', '1024']);
  assert.deepEqual(rateOptions(22050), ['-samprate', '22050', '-nfft', '1024']);
  assert.deepEqual(rateOptions(8000), ['-samprate', '8000', '-nfft', '512']);
  assert.deepEqual(rateOptions(48000), ['-samprate', '48000', '-nfft', '2048']);
});

test('a WAV file that cannot be read is a RecognizerError naming it', async () => {
  await assert.rejects(transcribe('/nonexistent/a.wav'), (e: unknown) => e instanceof RecognizerError && /\/nonexistent\/a\.wav: cannot read/.test(e.message));
});
