/** Calibration files: where they live, a round trip, and stale or corrupt files ignored with a notice. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { calibratedDefaults, calibrationLine } from '../../../electron/core/calibration/defaults.ts';
import { describeMachine, type MachineInfo, type VoiceIdentity } from '../../../electron/core/calibration/machine.ts';
import {
  calibrationPath,
  configDir,
  readAcceptance,
  readCalibration,
  writeAcceptance,
  writeCalibration,
  type Calibration,
} from '../../../electron/core/calibration/store.ts';
import type { Prediction } from '../../../electron/core/calibration/cost-model.ts';

const MACHINE: MachineInfo = { cpu: 'AMD EPYC', cores: 2, onnxruntime: '1.30.0', platform: 'linux', arch: 'x64' };
const VOICE: VoiceIdentity = { name: 'spear-voice', manifestSha256: 'a'.repeat(64) };

const prediction = (strategy: Prediction['strategy'], gamma: number, threads: number, targetThreads: number, speedup: number): Prediction => ({
  strategy,
  gamma,
  threads,
  targetThreads,
  unitsPerStep: strategy === 'ar' ? 1 : 3,
  stepMs: 2,
  tokensPerSecond: 500 * speedup,
  speedup,
});

function calibration(): Calibration {
  const best = prediction('eagle', 4, 1, 2, 1.6);
  return {
    format: 'spear-calibration/1',
    machine: MACHINE,
    voice: VOICE,
    measuredAt: '2026-12-06T00:00:00.000Z',
    seconds: 14.5,
    acceptance: { maxGamma: 2, drafters: { eagle: { reached: [10, 8, 6] } }, meanPosition: 108, sentences: 24, tokens: 2428 },
    costs: [{ graph: 'full', threads: 1, targetThreads: 2, positions: 1, ms: 1.2 }],
    best,
    byStrategy: { eagle: best, ar: prediction('ar', 0, 1, 2, 1), draft: prediction('draft', 3, 1, 1, 1.4) },
  };
}

async function scratch(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'spear-calibration-'));
}

test("the config directory: SPEAR_CONFIG_DIR, else the platform's", () => {
  const home = '/home/u';
  assert.equal(configDir({ SPEAR_CONFIG_DIR: '/tmp/x' }, 'linux', home), '/tmp/x');
  assert.equal(configDir({}, 'linux', home), '/home/u/.config/spear-studio');
  assert.equal(configDir({ XDG_CONFIG_HOME: '/xdg' }, 'linux', home), '/xdg/spear-studio');
  assert.equal(configDir({ XDG_CONFIG_HOME: 'relative' }, 'linux', home), '/home/u/.config/spear-studio', 'a relative XDG path is ignored, as the spec says');
  assert.equal(configDir({}, 'darwin', home), '/home/u/Library/Application Support/spear-studio');
  assert.equal(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', home), path.join('C:\\Users\\u\\AppData\\Roaming', 'spear-studio'));
});

test('a written calibration reads back the same, for the same machine and voice; nothing temporary is left', async () => {
  const dir = path.join(await scratch(), 'nested');
  const written = calibration();
  assert.equal(await writeCalibration(dir, written), calibrationPath(dir));
  const read = await readCalibration(dir, MACHINE, VOICE);
  assert.equal(read.status, 'valid');
  assert.deepEqual(read.status === 'valid' && read.calibration, written);
  assert.deepEqual(await readdir(dir), ['calibration.json']);
  // The seed prophet and medusa (measured at its 2 heads, below the profile's gamma) read back too.
  const c = calibration();
  const withBoth: Calibration = {
    ...c,
    acceptance: { ...c.acceptance, drafters: { ...c.acceptance.drafters, prophet: { reached: [10, 9, 7] }, medusa: { reached: [10, 5, 0], maxGamma: 1 } } },
    costs: [
      ...c.costs,
      { graph: 'seed_prophet_chain_2', threads: 1, targetThreads: 2, positions: 2, ms: 0.3 },
      { graph: 'medusa', threads: 1, targetThreads: 2, positions: 1, ms: 0.1 },
    ],
    byStrategy: { ...c.byStrategy, prophet: prediction('prophet', 2, 1, 2, 1.5), medusa: prediction('medusa', 1, 1, 2, 1.1) },
  };
  await writeCalibration(dir, withBoth);
  const both = await readCalibration(dir, MACHINE, VOICE);
  assert.deepEqual(both.status === 'valid' && both.calibration, withBoth);
  await rm(path.dirname(dir), { recursive: true });
});

test('a missing file is missing; another machine, ONNX Runtime or voice is stale, and the notice says which', async () => {
  const dir = await scratch();
  assert.equal((await readCalibration(dir, MACHINE, VOICE)).status, 'missing');
  await writeCalibration(dir, calibration());
  const cases: [MachineInfo, VoiceIdentity, RegExp][] = [
    [{ ...MACHINE, onnxruntime: '1.31.0' }, VOICE, /onnxruntime 1\.30\.0 → 1\.31\.0/],
    [{ ...MACHINE, cores: 8 }, VOICE, /2 → 8 cores/],
    [{ ...MACHINE, cpu: 'Intel Xeon' }, VOICE, /CPU AMD EPYC → Intel Xeon/],
    [MACHINE, { ...VOICE, manifestSha256: 'b'.repeat(64) }, /voice spear-voice changed/],
    [MACHINE, { name: 'other', manifestSha256: 'b'.repeat(64) }, /voice spear-voice → other/],
  ];
  for (const [machine, voice, reason] of cases) {
    const read = await readCalibration(dir, machine, voice);
    assert.equal(read.status, 'stale');
    assert.ok(
      read.status === 'stale' && reason.test(read.notice) && /ignored$/.test(read.notice) && !read.notice.includes('\n'),
      read.status === 'stale' ? read.notice : '',
    );
  }
  await rm(dir, { recursive: true });
});

/** `calibration()` naming a strategy, "lookahead", that this version does not have. */
function calibrationNamingUnknown(): unknown {
  const c = calibration();
  const best = { ...c.best, strategy: 'lookahead' };
  return {
    ...c,
    acceptance: { ...c.acceptance, drafters: { lookahead: c.acceptance.drafters.eagle } },
    costs: [...c.costs, { graph: 'lookahead_chain_4', threads: 1, positions: 3, ms: 0.6 }],
    best,
    byStrategy: { lookahead: best, ar: c.byStrategy.ar, draft: c.byStrategy.draft },
  };
}

test('a calibration naming a strategy this version lacks is stale, with the one-line notice, and is redone', async () => {
  const dir = await scratch();
  await writeFile(calibrationPath(dir), JSON.stringify(calibrationNamingUnknown()));
  const read = await readCalibration(dir, MACHINE, VOICE);
  assert.equal(read.status, 'stale');
  assert.ok(
    read.status === 'stale' && /another setup \(unknown strategy "lookahead"\); ignored$/.test(read.notice) && !read.notice.includes('\n'),
    JSON.stringify(read),
  );
  // Only this format is judged by its strategies: another format stays corrupt.
  await writeFile(calibrationPath(dir), JSON.stringify({ ...(calibrationNamingUnknown() as object), format: 'spear-calibration/0' }));
  assert.equal((await readCalibration(dir, MACHINE, VOICE)).status, 'corrupt');
  // Redone: a calibration written over it reads back.
  await writeCalibration(dir, calibration());
  assert.equal((await readCalibration(dir, MACHINE, VOICE)).status, 'valid');
  // The voice's cached acceptance naming it is measured again rather than used without that drafter.
  await writeAcceptance(dir, VOICE, calibration().acceptance);
  const file = path.join(dir, 'acceptance', `${VOICE.manifestSha256}.json`);
  const stored = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...stored, acceptance: (calibrationNamingUnknown() as Calibration).acceptance }));
  assert.equal(await readAcceptance(dir, VOICE), undefined);
  await rm(dir, { recursive: true });
});

test('a file that is not JSON, or not this format, is corrupt, with a one-line notice', async () => {
  const dir = await scratch();
  const file = calibrationPath(dir);
  const good = calibration();
  const bad: [string, RegExp][] = [
    ['{"format": "spear-calibration/1", "machi', /is not valid JSON/],
    [JSON.stringify({ ...good, format: 'spear-calibration/0' }), /not a spear-calibration\/1 file \(format/],
    [JSON.stringify({ ...good, best: undefined }), /best/],
    [JSON.stringify({ ...good, costs: [] }), /costs/],
    [JSON.stringify({ ...good, costs: [{ ...good.costs[0], graph: 'rm -rf' }] }), /costs\.0\.graph/],
    // More steps reaching depth 2 than depth 1 cannot come from a decode.
    [JSON.stringify({ ...good, acceptance: { ...good.acceptance, drafters: { eagle: { reached: [10, 6, 8] } } } }), /non-increasing/],
    // Medusa with one head cannot have reached depth 2.
    [
      JSON.stringify({ ...good, acceptance: { ...good.acceptance, drafters: { medusa: { reached: [10, 6, 2], maxGamma: 1 } } } }),
      /0 past the drafter's own maxGamma/,
    ],
    [JSON.stringify({ ...good, best: { ...good.best, tokensPerSecond: -3 } }), /best\.tokensPerSecond/],
  ];
  for (const [text, reason] of bad) {
    await writeFile(file, text);
    const read = await readCalibration(dir, MACHINE, VOICE);
    assert.equal(read.status, 'corrupt', text.slice(0, 60));
    assert.ok(read.status === 'corrupt' && reason.test(read.notice) && !read.notice.includes('\n'), read.status === 'corrupt' ? read.notice : '');
  }
  // A good file written over a corrupt one is read again.
  await writeCalibration(dir, good);
  assert.equal((await readCalibration(dir, MACHINE, VOICE)).status, 'valid');
  await rm(dir, { recursive: true });
});

test('the acceptance cache is per voice, and a bad one is measured again rather than used', async () => {
  const dir = await scratch();
  const acceptance = calibration().acceptance;
  await writeAcceptance(dir, VOICE, acceptance);
  assert.deepEqual(await readAcceptance(dir, VOICE), acceptance);
  assert.equal(await readAcceptance(dir, { ...VOICE, manifestSha256: 'c'.repeat(64) }), undefined);
  const file = path.join(dir, 'acceptance', `${VOICE.manifestSha256}.json`);
  const stored = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...stored, voice: { ...VOICE, manifestSha256: 'd'.repeat(64) } }));
  assert.equal(await readAcceptance(dir, VOICE), undefined, 'a file whose voice is not its name');
  await writeFile(file, '[]');
  assert.equal(await readAcceptance(dir, VOICE), undefined);
  await rm(dir, { recursive: true });
});

test("the user's choices come first; a named strategy gets its own calibrated gamma and threads", () => {
  const c = calibration();
  assert.deepEqual({ ...calibratedDefaults(c, {}), from: undefined }, { strategy: 'eagle', gamma: 4, threads: 1, targetThreads: 2, from: undefined });
  const draft = calibratedDefaults(c, { strategy: 'draft' })!;
  assert.deepEqual([draft.strategy, draft.gamma, draft.threads, draft.targetThreads], ['draft', 3, 1, 1]);
  const gamma = calibratedDefaults(c, { gamma: 2 })!;
  assert.deepEqual([gamma.strategy, gamma.gamma, gamma.threads, gamma.targetThreads], ['eagle', 2, 1, 2]);
  // A thread count named keeps both counts the user's (the engine's default for the other).
  const threads = calibratedDefaults(c, { threads: 2 })!;
  assert.deepEqual([threads.strategy, threads.gamma, threads.threads, threads.targetThreads], ['eagle', 4, 2, undefined]);
  const ar = calibratedDefaults(c, { strategy: 'ar' })!;
  assert.deepEqual([ar.strategy, ar.gamma, ar.targetThreads], ['ar', undefined, 2]);
  assert.equal(calibratedDefaults(c, { strategy: 'early-exit' }), undefined, 'a strategy the calibration did not time');
  assert.equal(calibrationLine(c), 'calibrated: eagle γ 4, 1+2 threads (AMD EPYC, 2 cores)');
  assert.equal(describeMachine({ cpu: 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', cores: 8 }), 'Intel Core i7-8650U, 8 cores');
  assert.equal(describeMachine({ cpu: 'AMD Ryzen 9 5950X 16-Core Processor', cores: 32 }), 'AMD Ryzen 9 5950X, 32 cores');
});
