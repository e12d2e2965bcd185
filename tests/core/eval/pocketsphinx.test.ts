import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RecognizerError, transcribe } from '../../../electron/core/eval/pocketsphinx.ts';

test('a WAV file that cannot be read, or is not 16-bit mono PCM, is a RecognizerError naming it', async () => {
  await assert.rejects(transcribe('/nonexistent/a.wav'), (e: unknown) => e instanceof RecognizerError && /\/nonexistent\/a\.wav: cannot read/.test(e.message));
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-asr-test-'));
  try {
    const file = path.join(dir, 'b.wav');
    await writeFile(file, 'not audio at all');
    await assert.rejects(transcribe(file), (e: unknown) => e instanceof RecognizerError && e.message === `${file}: not a mono 16-bit PCM WAV file`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
