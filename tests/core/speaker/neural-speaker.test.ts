/**
 * The waveform kind of speaker (vocoder kind "waveform": the graph writes samples), on a tiny random neural
 * speaker exported by native-models/spear_voice/speaker/neural_export.py --fixture: parity of onnxruntime-node with
 * PyTorch, windows with context equal to the whole utterance, delivery options, typed errors.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { joinSamples } from '../../../electron/core/audio/samples.ts';
import { loadSpeaker, type Speaker, SpeakerLoadError, SpeakerOptionError, UnitRangeError } from '../../../electron/core/pipeline/speaker.ts';

const DIR = 'tests/fixtures/tiny-neural-speaker';
let speaker: Speaker;

before(async () => {
  speaker = await loadSpeaker(DIR);
});
after(async () => {
  await speaker.release();
});

const units = (n: number, seed = 7): number[] => Array.from({ length: n }, (_, i) => (i * 389 + seed * 97) % 1024);
const maxDiff = (a: Float32Array, b: Float32Array): number => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

/** A copy of the fixture with its manifest changed by `edit`, removed after `body`. */
async function withManifest(edit: (m: Record<string, unknown>) => Record<string, unknown>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'neural-speaker-'));
  try {
    await cp(DIR, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'speaker.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(dir, 'speaker.json'), JSON.stringify(edit(manifest)));
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the manifest sets the rates: 4 kHz, 25 units per second, 160 samples per unit', () => {
  assert.equal(speaker.manifest.vocoder.kind, 'waveform');
  assert.equal(speaker.sampleRate, 4000);
  assert.equal(speaker.unitRate, 25);
  assert.equal(speaker.samplesPerUnit, 160);
  assert.equal(speaker.unitCount, 1024);
});

test('onnxruntime-node audio equals the PyTorch reference of the export (≤ 1e-4)', async () => {
  const parity = JSON.parse(await readFile(path.join(DIR, 'parity.json'), 'utf8')) as { units: number[][]; shape: number[]; audio: number[] };
  const [, N] = parity.shape;
  for (const [row, ids] of parity.units.entries()) {
    const audio = await speaker.speak(ids, { chunkUnits: ids.length });
    assert.equal(audio.length, N);
    const ref = Float32Array.from(parity.audio.slice(row * N, (row + 1) * N));
    const d = maxDiff(audio, ref);
    assert.ok(d <= 1e-4, `row ${row}: max diff ${d}`);
  }
});

test('windows with context_units on each side speak what the whole utterance does; without context they do not', async () => {
  const ids = units(41);
  const whole = await speaker.speak(ids, { chunkUnits: ids.length });
  let energy = 0;
  for (const v of whole) energy += v * v;
  assert.ok(energy / whole.length > 1e-4, 'the fixture speaks audibly');
  for (const chunkUnits of [1, 3, 10, 25]) {
    const d = maxDiff(await speaker.speak(ids, { chunkUnits }), whole);
    assert.ok(d <= 1e-5, `windows of ${chunkUnits}: max diff ${d}`);
  }
  await withManifest(
    (m) => ({ ...m, vocoder: { ...(m.vocoder as object), context_units: 0 } }),
    async (dir) => {
      const bare = await loadSpeaker(dir);
      try {
        assert.ok(maxDiff(await bare.speak(ids, { chunkUnits: 3 }), whole) > 1e-3, 'the context is what makes the windows exact');
      } finally {
        await bare.release();
      }
    },
  );
});

test('speakChunks(): windows of chunk_units doubling up to 8×, together equal to speak()', async () => {
  const ids = units(95, 3);
  const pieces: Float32Array[] = [];
  for await (const piece of speaker.speakChunks(ids, { chunkUnits: 5 })) pieces.push(piece);
  assert.deepEqual(
    pieces.map((p) => p.length / 160),
    [5, 10, 20, 40, 20],
  );
  assert.equal(maxDiff(joinSamples(pieces), await speaker.speak(ids, { chunkUnits: 5 })), 0);
  assert.equal((await speaker.speak([])).length, 0);
});

test('rate repeats or skips units and keeps the samples per unit; a pitch shift is a SpeakerOptionError', async () => {
  const ids = units(20);
  assert.equal((await speaker.speak(ids, { rate: 2 })).length, 10 * 160);
  assert.equal((await speaker.speak(ids, { rate: 0.5 })).length, 40 * 160);
  const doubled = await speaker.speak(
    ids.flatMap((u) => [u, u]),
    { chunkUnits: 40 },
  );
  assert.equal(maxDiff(await speaker.speak(ids, { rate: 0.5, chunkUnits: 40 }), doubled), 0);
  await assert.rejects(speaker.speak(ids, { pitchSemitones: 2 }), (e: unknown) => e instanceof SpeakerOptionError && /pitchSemitones = 2/.test(e.message));
  await assert.rejects(speaker.speak(ids, { rate: 0 }), SpeakerOptionError);
  await assert.rejects(speaker.frames(ids), SpeakerOptionError);
});

test('a unit id outside [0, unitCount) is a UnitRangeError naming its index, before any audio', async () => {
  await assert.rejects(speaker.speak([1, 2, 1024]), (e: unknown) => e instanceof UnitRangeError && e.index === 2);
  assert.throws(
    () => speaker.speakChunks([3, -1]),
    (e: unknown) => e instanceof UnitRangeError && e.index === 1,
  );
});

test('a corrupt graph, a graph of the other kind and a bad manifest are SpeakerLoadErrors naming the file', async () => {
  await withManifest(
    (m) => m,
    async (dir) => {
      const onnx = path.join(dir, 'speaker.onnx');
      const bytes = await readFile(onnx);
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(onnx, bytes);
      await assert.rejects(loadSpeaker(dir), (e: unknown) => e instanceof SpeakerLoadError && e.file === onnx && /sha256 is/.test(e.message));
    },
  );
  await withManifest(
    (m) => ({ ...m, vocoder: { kind: 'waveform', context_units: -1, chunk_units: 0 }, features: { hop: 40, win: 160 } }),
    async (dir) => {
      await assert.rejects(loadSpeaker(dir), (e: unknown) => {
        assert.ok(e instanceof SpeakerLoadError && e.file === path.join(dir, 'speaker.json'), String(e));
        assert.match(e.message, /context_units must be an integer ≥ 0/);
        assert.match(e.message, /chunk_units must be a positive integer/);
        assert.match(e.message, /"features" needs positive integers hop, win, n_fft(?!, n_mels)/);
        return true;
      });
    },
  );
  // the shipped source-filter graph under a waveform manifest: its output is "frames", not "audio"
  await withManifest(
    (m) => m,
    async (dir) => {
      await cp('native-models/voice/speaker/speaker.onnx', path.join(dir, 'speaker.onnx'));
      const manifest = JSON.parse(await readFile(path.join(dir, 'speaker.json'), 'utf8')) as { files: Record<string, string> };
      const { createHash } = await import('node:crypto');
      manifest.files['speaker.onnx'] = createHash('sha256')
        .update(await readFile(path.join(dir, 'speaker.onnx')))
        .digest('hex');
      await writeFile(path.join(dir, 'speaker.json'), JSON.stringify(manifest));
      await assert.rejects(
        loadSpeaker(dir),
        (e: unknown) =>
          e instanceof SpeakerLoadError && e.file === path.join(dir, 'speaker.onnx') && /outputs are \[frames\], expected \[audio\]/.test(e.message),
      );
    },
  );
});
