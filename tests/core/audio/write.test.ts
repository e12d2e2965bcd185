import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AudioFileWriter, AudioTooLongError, formatOf, OutputPathError, writeAudioFile } from '../../../electron/core/audio/write.ts';
import { assertFits, estimateBytes } from '../../../electron/core/audio/formats.ts';
import { oggCrc } from '../../../electron/core/audio/ogg.ts';
import { decodeWav, encodeWav } from '../../../electron/core/audio/wav.ts';
import { bandShare } from '../../helpers/spectrum.ts';

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
  await assert.rejects(AudioFileWriter.create(path.join(dir, 'c.aiff'), 16000), /unknown audio extension ".aiff"/);
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
  assert.deepEqual(
    [pcm[0], pcm[4000], pcm[8000], pcm[11999]],
    [Math.round(0.1 * 0x7fff), Math.round(-0.2 * 0x8000), Math.round(0.3 * 0x7fff), Math.round(0.3 * 0x7fff)],
  );
});

test('extensions name formats: .ogg and .oga are Ogg Opus', () => {
  assert.deepEqual(['a.wav', 'b.MP3', 'c.flac', 'd.opus', 'e.ogg', 'f.oga'].map(formatOf), ['wav', 'mp3', 'flac', 'opus', 'opus', 'opus']);
});

test('the Ogg CRC is CRC-32 with polynomial 0x04c11db7, not reflected, initial value 0', () => {
  // The catalogue's CRC-32/POSIX check value 0x765E7680 is this CRC xor 0xFFFFFFFF.
  assert.equal(oggCrc(new TextEncoder().encode('123456789')), 0x89a1897f);
});

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

/** ffmpeg's decoding of a file to 16 kHz mono 16-bit samples. */
function decode(file: string, rate = 16000): Int16Array {
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-ac', '1', '-ar', String(rate), '-f', 's16le', '-']);
  assert.equal(ff.status, 0, String(ff.stderr));
  return new Int16Array(ff.stdout.buffer, ff.stdout.byteOffset, ff.stdout.length / 2);
}

/** Speech-like test audio: a voiced tone whose pitch glides, with pauses, in several odd-sized writes. */
const speechLike = (n: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) =>
    Math.floor(i / 4000) % 3 === 2
      ? 0
      : 0.4 * Math.sin((2 * Math.PI * (120 + 40 * Math.sin(i / 8000)) * i) / 16000) + 0.1 * Math.sin((2 * Math.PI * 1200 * i) / 16000),
  );

test('FLAC decodes (ffmpeg) to exactly the samples written, with the length in its STREAMINFO', async (t) => {
  if (!hasFfmpeg) return t.skip('ffmpeg is not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const samples = speechLike(16000 * 2 + 333);
  const writer = await AudioFileWriter.create(path.join(dir, 'a.flac'), 16000);
  for (let i = 0; i < samples.length; i += 5000) void writer.write(samples.subarray(i, i + 5000));
  await writer.finish();
  await writeAudioFile(path.join(dir, 'a.wav'), samples, 16000);
  const bytes = await readFile(path.join(dir, 'a.flac'));
  assert.equal(bytes.toString('ascii', 0, 4), 'fLaC');
  // STREAMINFO: 36 bits of total samples after 20 + 3 + 5 bits of rate, channels, depth.
  const totals = bytes.readBigUInt64BE(18) & ((1n << 36n) - 1n);
  assert.equal(Number(totals), samples.length);
  assert.deepEqual(decode(path.join(dir, 'a.flac')), decode(path.join(dir, 'a.wav')));
  assert.ok(bytes.length < (await readFile(path.join(dir, 'a.wav'))).length * 0.8, 'smaller than the WAV');
  assert.deepEqual((await readdir(dir)).sort(), ['a.flac', 'a.wav']);
});

test('Ogg Opus decodes (ffmpeg) to the same length, aligned with the input (the pre-skip is right)', async (t) => {
  if (!hasFfmpeg) return t.skip('ffmpeg is not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const samples = speechLike(16000 * 3 + 77);
  await writeAudioFile(path.join(dir, 'a.opus'), samples, 16000);
  const bytes = await readFile(path.join(dir, 'a.opus'));
  assert.equal(bytes.toString('ascii', 0, 4), 'OggS');
  assert.equal(bytes.toString('ascii', 28, 36), 'OpusHead');
  // At 48 kHz (Opus's own rate) no resampler blurs the count: exactly three samples per input sample.
  assert.equal(decode(path.join(dir, 'a.opus'), 48000).length, samples.length * 3);
  const decoded = decode(path.join(dir, 'a.opus'));
  assert.equal(decoded.length, samples.length);
  // Clicks come out where they went in: the best lag is near 0 (a wrong pre-skip moves it by 104).
  const clicks = new Float32Array(16000 * 2);
  for (const at of [8000, 16000, 24000]) for (let k = 0; k < 40; k++) clicks[at + k] = 0.5 * Math.sin(k / 2) * Math.exp(-k / 15);
  await writeAudioFile(path.join(dir, 'clicks.opus'), clicks, 16000);
  const heard = decode(path.join(dir, 'clicks.opus'));
  let best = { lag: 0, score: -Infinity };
  for (let lag = -150; lag <= 150; lag++) {
    let score = 0;
    for (let i = 1000; i < clicks.length - 1000; i++) score += clicks[i] * heard[i + lag];
    if (score > best.score) best = { lag, score };
  }
  assert.ok(Math.abs(best.lag) <= 8, `clicks shifted by ${best.lag} samples`);
  assert.ok(bytes.length < samples.length * 2 * 0.15, `${bytes.length} bytes: ~24 kbit/s`);
});

test('Ogg Opus carries what went in: a 440 Hz tone at 16 and 24 kHz, and a 10 kHz one at 24 kHz', async (t) => {
  if (!hasFfmpeg) return t.skip('ffmpeg is not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  // At 24 kbit/s Opus codes the band above 8 kHz as shaped noise: the 10 kHz tone stays in its band, not its bin.
  for (const [rate, hz, lo, hi] of [
    [16000, 440, 420, 460],
    [24000, 440, 420, 460],
    [24000, 10000, 9000, 11000],
  ]) {
    const tone = Float32Array.from({ length: rate }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / rate));
    const file = path.join(dir, `tone-${rate}-${hz}.opus`);
    await writeAudioFile(file, tone, rate);
    const share = bandShare(decode(file, rate), rate, (f) => f >= lo && f <= hi, 4000, 4800);
    assert.ok(share > 0.9, `${hz} Hz at ${rate} Hz: ${share.toFixed(3)} of the decoded power within ${lo}-${hi} Hz`);
  }
});

test('a WAV past its size limit fails with one line and leaves nothing; the estimate refuses it up front', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-audio-'));
  const target = path.join(dir, 'big.wav');
  const writer = await AudioFileWriter.create(target, 16000, 'wav', { maxSampleBytes: 64_000 });
  void writer.write(tone(16000));
  void writer.write(tone(16001));
  await assert.rejects(
    writer.finish(),
    (e: Error) => e instanceof AudioTooLongError && e.message.startsWith(`${target}: the audio outgrew the 64 kB a WAV file can hold`),
  );
  assert.deepEqual(await readdir(dir), []);
  assert.throws(
    () => assertFits('x.wav', 'wav', 38 * 3600, 16000),
    /^AudioTooLongError: x\.wav: the text makes about 38 h of audio \(~4\.4 GB as WAV\), more than the 4 GiB a WAV file can hold/,
  );
  assert.doesNotThrow(() => assertFits('x.wav', 'wav', 37 * 3600, 16000));
  for (const format of ['flac', 'opus', 'mp3'] as const) assert.doesNotThrow(() => assertFits('x', format, 100 * 3600, 16000));
  assert.ok(estimateBytes('opus', 3600, 16000) < estimateBytes('mp3', 3600, 16000));
  assert.ok(estimateBytes('mp3', 3600, 16000) < estimateBytes('flac', 3600, 16000));
});

test('decodeWav reads back what encodeWav wrote, skips other chunks, and refuses what is not 16-bit mono PCM', () => {
  const samples = Float32Array.from({ length: 101 }, (_, i) => Math.round(0.5 * Math.sin(i / 3) * 32767) / 32768);
  const bytes = encodeWav(samples, 24000);
  const back = decodeWav(bytes);
  assert.ok(back);
  assert.equal(back.sampleRate, 24000);
  assert.equal(back.samples.length, 101);
  for (let i = 0; i < 101; i++) assert.ok(Math.abs(back.samples[i] - samples[i]) <= 1 / 32768, `sample ${i}`);
  // A LIST chunk of odd length between fmt and data (padded to even), as other writers put there.
  const list = new Uint8Array([...new TextEncoder().encode('LIST'), 3, 0, 0, 0, 1, 2, 3, 0]);
  const withList = new Uint8Array([...bytes.subarray(0, 36), ...list, ...bytes.subarray(36)]);
  assert.equal(decodeWav(withList)?.samples.length, 101);
  const stereo = bytes.slice();
  stereo[22] = 2;
  assert.equal(decodeWav(stereo), null);
  assert.equal(decodeWav(new TextEncoder().encode('RIFF....WAVEjunk')), null);
});
