import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudioFileWriter, OutputPathError, writeAudioFile } from '../../../electron/core/audio/write.ts';

const tone = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i / 5));

test('a WAV is written whole, with sizes that match its samples, and only under its own name', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const target = path.join(dir, 'a.wav');
  await writeAudioFile(target, tone(16000 * 3 + 7), 16000);
  const bytes = await readFile(target);
  assert.equal(bytes.readUInt32LE(40), (16000 * 3 + 7) * 2);
  assert.equal(bytes.readUInt32LE(4), bytes.length - 8);
  assert.deepEqual(await readdir(dir), ['a.wav']);
});

test('MP3 output starts with an MPEG frame or ID3 tag', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const target = path.join(dir, 'a.mp3');
  await writeAudioFile(target, tone(16000), 16000);
  const bytes = await readFile(target);
  assert.ok(bytes.length > 1000);
  assert.ok((bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0) || bytes.toString('ascii', 0, 3) === 'ID3');
});

test('abort while writes are still queued leaves no file and throws nothing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const writer = await AudioFileWriter.create(path.join(dir, 'b.wav'), 16000);
  // Not awaited, as a streaming caller does; then cancel at once.
  for (let i = 0; i < 20; i++) void writer.write(tone(16000));
  const aborting = writer.abort();
  // A late write racing the abort, as a streaming caller's can: it must neither crash nor leave a file.
  void writer.write(tone(16000));
  await aborting;
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await readdir(dir), []);
  await assert.rejects(writer.write(tone(10)), /write after finish\/abort/);
});

test('a bad target is refused before anything is created', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  await assert.rejects(AudioFileWriter.create(path.join(dir, 'missing', 'c.wav'), 16000), OutputPathError);
  await assert.rejects(AudioFileWriter.create(path.join(dir, 'c.flac'), 16000), /unknown audio extension ".flac"/);
  await assert.rejects(AudioFileWriter.create(dir + '/', 16000), OutputPathError);
  assert.deepEqual(await readdir(dir), []);
});

test('writes that are not awaited land in call order', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const target = path.join(dir, 'order.wav');
  const writer = await AudioFileWriter.create(target, 16000);
  const chunks = [0.1, -0.2, 0.3].map((v) => new Float32Array(4000).fill(v));
  for (const c of chunks) void writer.write(c);
  await writer.finish();
  const pcm = new Int16Array((await readFile(target)).buffer.slice(44));
  assert.equal(pcm.length, 12000);
  assert.deepEqual([pcm[0], pcm[4000], pcm[8000], pcm[11999]], [Math.round(0.1 * 0x7fff), Math.round(-0.2 * 0x8000), Math.round(0.3 * 0x7fff), Math.round(0.3 * 0x7fff)]);
});
