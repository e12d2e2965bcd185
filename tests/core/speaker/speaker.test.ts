/**
 * The shipped speaking stage (native-models/voice/speaker/): loading, output length and range, parity
 * of onnxruntime-node with the PyTorch reference the export wrote, and typed errors for bad files and
 * bad units.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadSpeaker, SpeakerLoadError, UnitRangeError, type Speaker } from '../../../electron/core/pipeline/speaker.ts';

const DIR = 'native-models/voice/speaker';
let speaker: Speaker;

before(async () => {
  speaker = await loadSpeaker(DIR);
});
after(async () => {
  await speaker.release();
});

test('the shipped speaker: 24 kHz, 25 units per second, 1024 units, 960 samples per unit', () => {
  assert.equal(speaker.sampleRate, 24000);
  assert.equal(speaker.unitRate, 25);
  assert.equal(speaker.unitCount, 1024);
  assert.equal(speaker.samplesPerUnit, 960);
  assert.equal(speaker.samplesPerUnit, speaker.sampleRate / speaker.unitRate);
});

test('speak(): units × samples per unit samples, finite, in [-1, 1], not silent', async () => {
  for (const units of [[5], [0, 1023, 17, 17, 17, 400, 400, 88], Array.from({ length: 60 }, (_, i) => (i * 37) % 1024)]) {
    const audio = await speaker.speak(units);
    assert.equal(audio.length, units.length * speaker.samplesPerUnit);
    let energy = 0;
    for (const v of audio) {
      assert.ok(Number.isFinite(v) && v >= -1 && v <= 1, `sample ${v}`);
      energy += v * v;
    }
    assert.ok(energy > 0, 'silent output');
  }
  assert.equal((await speaker.speak([])).length, 0);
});

test('onnxruntime-node frames equal the PyTorch reference of the export (≤ 1e-4)', async () => {
  const parity = JSON.parse(await readFile(path.join(DIR, 'parity.json'), 'utf8')) as { units: number[][]; shape: number[]; frames: number[] };
  const [, T, D] = parity.shape;
  for (const [row, units] of parity.units.entries()) {
    const frames = await speaker.frames(units);
    assert.equal(frames.length, T * D);
    let maxDiff = 0;
    for (let i = 0; i < frames.length; i++) maxDiff = Math.max(maxDiff, Math.abs(frames[i] - parity.frames[row * T * D + i]));
    assert.ok(maxDiff <= 1e-4, `row ${row}: max diff ${maxDiff}`);
  }
});

test('a unit id outside [0, unitCount) or not an integer is a UnitRangeError naming its index', async () => {
  await assert.rejects(speaker.speak([1, 2, 1024]), (e: unknown) => e instanceof UnitRangeError && e.index === 2 && /units\[2\] = 1024/.test(e.message));
  await assert.rejects(speaker.speak([-1]), UnitRangeError);
  await assert.rejects(speaker.speak([0.5]), UnitRangeError);
});

test('a file whose sha256 differs from speaker.json is a SpeakerLoadError naming that file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'speaker-'));
  try {
    await cp(DIR, dir, { recursive: true });
    const onnx = path.join(dir, 'speaker.onnx');
    const bytes = await readFile(onnx);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(onnx, bytes);
    await assert.rejects(loadSpeaker(dir), (e: unknown) => {
      assert.ok(e instanceof SpeakerLoadError, String(e));
      assert.equal(e.file, onnx);
      assert.match(e.message, /speaker\.onnx: sha256 is [0-9a-f]{64}, speaker\.json says/);
      return true;
    });
    await rm(path.join(dir, 'speaker.json'));
    await assert.rejects(loadSpeaker(dir), (e: unknown) => e instanceof SpeakerLoadError && e.file.endsWith('speaker.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a manifest with the wrong format or inconsistent rates lists every problem in one error', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'speaker-'));
  try {
    await cp(DIR, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'speaker.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(dir, 'speaker.json'), JSON.stringify({ ...manifest, format: 'other/1', unit_rate: 50 }));
    await assert.rejects(
      loadSpeaker(dir),
      (e: unknown) => e instanceof SpeakerLoadError && /format is "other\/1"/.test(e.message) && /unit_rate 50/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fromCodebook(): the teacher units go through unit_groups; without it they pass unchanged', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'speaker-'));
  try {
    await cp(DIR, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'speaker.json'), 'utf8')) as Record<string, unknown>;
    const groups = Array.from({ length: 2 * speaker.unitCount }, (_, u) => u >> 1);
    await writeFile(path.join(dir, 'speaker.json'), JSON.stringify({ ...manifest, unit_groups: groups }));
    const grouped = await loadSpeaker(dir);
    try {
      assert.deepEqual(grouped.fromCodebook([0, 1, 2, 7, 2 * speaker.unitCount - 1]), [0, 0, 1, 3, speaker.unitCount - 1]);
      assert.throws(
        () => grouped.fromCodebook([3, 2 * speaker.unitCount]),
        (e: unknown) => e instanceof UnitRangeError && e.index === 1,
      );
    } finally {
      await grouped.release();
    }
    const { unit_groups: _, ...plain } = manifest;
    await writeFile(path.join(dir, 'speaker.json'), JSON.stringify(plain));
    const ungrouped = await loadSpeaker(dir);
    try {
      assert.deepEqual(ungrouped.fromCodebook([5, 0, 9]), [5, 0, 9]);
    } finally {
      await ungrouped.release();
    }
    await writeFile(path.join(dir, 'speaker.json'), JSON.stringify({ ...manifest, unit_groups: [0, speaker.unitCount] }));
    await assert.rejects(
      loadSpeaker(dir),
      (e: unknown) => e instanceof SpeakerLoadError && /"unit_groups" entries must be integers in \[0, unit_count/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
