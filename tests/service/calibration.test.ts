/**
 * The studio service's calibration: read before the voice opens, measured in the background when none
 * is stored (paused by jobs, cancellable), and used for what a job leaves out. The fake synthesizer
 * stands in for the voice, and a fake measurement for electron/core/calibration.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CalibrationInfo, StudioEvent } from '../../electron/ipc-contract.ts';
import type { Prediction } from '../../electron/core/calibration/cost-model.ts';
import type { Calibration, StoredCalibration } from '../../electron/core/calibration/store.ts';
import type { CalibrationBackend, SynthesisBackend } from '../../electron/service/backend.ts';
import { InvalidRequestError, parseArgs } from '../../electron/service/schemas.ts';
import { StudioService } from '../../electron/service/service.ts';
import { memorySettings } from '../../electron/service/settings.ts';
import { createFakeBackend } from '../helpers/fake-synthesizer.ts';

const DOC = 'A sentence to read. And another one.';

const prediction = (strategy: Prediction['strategy'], gamma: number, threads: number, targetThreads: number): Prediction => ({
  strategy,
  gamma,
  threads,
  targetThreads,
  unitsPerStep: 2,
  stepMs: 2,
  tokensPerSecond: 1000,
  speedup: 2,
});

function calibration(adaptive?: Calibration['adaptive']): Calibration {
  const best = prediction('draft', 5, 1, 2);
  return {
    ...(adaptive ? { adaptive } : {}),
    format: 'spear-calibration/1',
    machine: { cpu: 'Test CPU', cores: 2, onnxruntime: '1.30.0', platform: 'linux', arch: 'x64' },
    voice: { name: 'fake', manifestSha256: 'a'.repeat(64) },
    measuredAt: '2026-12-06T00:00:00.000Z',
    seconds: 1,
    acceptance: { maxGamma: 1, drafters: {}, meanPosition: 10, sentences: 1, tokens: 10 },
    costs: [{ graph: 'full', threads: 1, targetThreads: 2, positions: 1, ms: 1 }],
    best,
    byStrategy: { draft: best, eagle: prediction('eagle', 6, 1, 2), ar: prediction('ar', 0, 1, 2) },
  };
}

interface Harness {
  service: StudioService;
  events: StudioEvent[];
  opens: { threads?: number; targetThreads?: number }[];
  runs: { aborted: boolean; finished: boolean }[];
  /** Resolves the running measurement. */
  finish(): void;
}

/** A service over the fake voice whose measurement waits for `finish()` (or its abort). */
function harness(stored: StoredCalibration['status'], options: { useCalibration?: boolean; adaptive?: Calibration['adaptive'] } = {}): Harness {
  const fake = createFakeBackend({ speed: 0 });
  const events: StudioEvent[] = [];
  const opens: Harness['opens'] = [];
  const runs: Harness['runs'] = [];
  let release: (() => void) | null = null;
  const calibrationBackend: CalibrationBackend = {
    machine: 'Test CPU, 2 cores',
    async load(): Promise<StoredCalibration> {
      if (stored === 'valid') return { status: 'valid', calibration: calibration(options.adaptive), file: '/x/calibration.json' };
      if (stored === 'missing') return { status: 'missing', file: '/x/calibration.json' };
      return {
        status: stored,
        file: '/x/calibration.json',
        notice: 'calibration /x/calibration.json was measured for another setup (onnxruntime 1.29.0 → 1.30.0); ignored',
      };
    },
    run(_voice, { signal, onProgress }) {
      const run = { aborted: false, finished: false };
      runs.push(run);
      onProgress(0.5);
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => ((run.aborted = true), reject(new Error('cancelled'))), { once: true });
        release = () => ((run.finished = true), resolve(calibration()));
      });
    },
  };
  const backend = {
    ...fake,
    calibration: calibrationBackend,
    openVoice: (dir: string, o: { threads?: number; targetThreads?: number }) => {
      opens.push({ threads: o.threads, targetThreads: o.targetThreads });
      return fake.openVoice(dir, o);
    },
  } as unknown as SynthesisBackend;
  const { adaptive: _adaptive, ...settings } = options;
  const service = new StudioService({ backend, settings: memorySettings({ threads: 1, ...settings }), emit: (e) => events.push(e), calibrationIdleMs: 0 });
  return { service, events, opens, runs, finish: () => release?.() };
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

const calibrationEvents = (events: StudioEvent[]): CalibrationInfo[] => events.flatMap((e) => (e.type === 'calibration' ? [e.info] : []));

async function runJob(h: Harness, options = {}): Promise<{ strategy: string; gamma: number | 'auto' }> {
  const id = h.service.synthesize(DOC, options);
  let done: { strategy: string; gamma: number | 'auto' } | undefined;
  await until(() => {
    const e = h.events.find((x) => x.type === 'job' && x.jobId === id && x.event.type === 'done');
    if (e && e.type === 'job' && e.event.type === 'done') done = e.event.summary;
    return done !== undefined;
  }, 'the job');
  return done!;
}

test('with none stored, the service calibrates once idle; the next job uses the choice and the voice reopens with its threads', async () => {
  const h = harness('missing');
  h.service.prepare();
  await until(() => h.runs.length === 1, 'the measurement to start');
  assert.equal(h.service.getCalibration().state, 'running');
  assert.equal(h.service.getCalibration().progress, 0.5);
  // Until it is done, jobs use the settings' defaults (eagle γ 3) and their one thread count.
  h.finish();
  await until(() => h.service.getCalibration().state === 'ready', 'ready');
  const info = h.service.getCalibration();
  assert.deepEqual(info.choice, { strategy: 'draft', gamma: 5, threads: 1, targetThreads: 2, tokensPerSecond: 1000, speedup: 2 });
  assert.deepEqual(info.gammas, { draft: 5, eagle: 6 });
  assert.deepEqual(
    calibrationEvents(h.events).map((e) => e.state),
    ['running', 'running', 'ready'],
  );
  const summary = await runJob(h);
  assert.deepEqual([summary.strategy, summary.gamma], ['draft', 5]);
  assert.deepEqual(h.opens, [
    { threads: 1, targetThreads: undefined },
    { threads: 1, targetThreads: 2 },
  ]);
  // A strategy the user picks gets its own calibrated gamma; a gamma the user picks stays.
  const eagle = await runJob(h, { strategy: 'eagle' });
  assert.deepEqual([eagle.strategy, eagle.gamma], ['eagle', 6]);
  const chosen = await runJob(h, { strategy: 'eagle', gamma: 2 });
  assert.deepEqual([chosen.strategy, chosen.gamma], ['eagle', 2]);
  await h.service.dispose();
});

test('a job pauses a measurement, which runs again once the job is done; cancel stops it for good', async () => {
  const h = harness('missing');
  h.service.prepare();
  await until(() => h.runs.length === 1, 'the measurement');
  const summary = await runJob(h, { strategy: 'early-exit', gamma: 2 });
  assert.equal(summary.strategy, 'early-exit');
  assert.equal(h.runs[0].aborted, true, 'the job paused it');
  await until(() => h.runs.length === 2, 'the measurement to start again');
  const id = h.service.getCalibration().jobId!;
  h.service.cancel(id);
  await until(() => h.service.getCalibration().state === 'none', 'cancelled');
  await runJob(h);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(h.runs.length, 2, 'a cancelled calibration does not come back by itself');
  // On demand it runs again.
  const again = h.service.calibrate();
  await until(() => h.runs.length === 3, 'the requested measurement');
  assert.equal(h.service.getCalibration().jobId, again);
  h.finish();
  await until(() => h.service.getCalibration().state === 'ready', 'ready');
  await h.service.dispose();
});

test("a stored calibration sets the voice's threads before it opens; useCalibration false keeps the settings", async () => {
  const h = harness('valid');
  const summary = await runJob(h);
  assert.deepEqual([summary.strategy, summary.gamma], ['draft', 5]);
  assert.deepEqual(h.opens, [{ threads: 1, targetThreads: 2 }]);
  assert.equal(h.runs.length, 0, 'nothing to measure');
  await h.service.setSettings({ useCalibration: false });
  const plain = await runJob(h);
  assert.deepEqual([plain.strategy, plain.gamma], ['eagle', 3]);
  assert.deepEqual(h.opens.at(-1), { threads: 1, targetThreads: undefined });
  await h.service.dispose();
});

test('a stale calibration is named, then measured again', async () => {
  const h = harness('stale');
  h.service.prepare();
  await until(() => h.runs.length === 1, 'the measurement');
  assert.match(h.service.getCalibration().message ?? '', /another setup \(onnxruntime 1\.29\.0 → 1\.30\.0\); ignored; calibrating again$/);
  h.finish();
  await until(() => h.service.getCalibration().state === 'ready', 'ready');
  assert.equal(h.service.getCalibration().message, null);
  await h.service.dispose();
});

test('a backend that keeps no calibration says so, and refuses to calibrate', async () => {
  const service = new StudioService({
    backend: createFakeBackend({ speed: 0 }) as unknown as SynthesisBackend,
    settings: memorySettings(),
    emit: () => undefined,
  });
  assert.equal(service.getCalibration().state, 'unavailable');
  assert.throws(() => service.calibrate(), /calibration is not available here \(fake voice keeps no calibration\)/);
  await service.dispose();
});

test('a calibration that timed adaptive gamma faster makes it the default of its strategy, with its threshold and cap', async () => {
  const h = harness('valid', { adaptive: { strategy: 'draft', draftConfidence: 0.35, maxGamma: 6, speedupOverFixed: 1.1, chosen: true } });
  h.service.prepare();
  await until(() => h.service.getCalibration().state === 'ready', 'ready');
  assert.deepEqual(h.service.getCalibration().adaptive, { strategy: 'draft', draftConfidence: 0.35, maxGamma: 6, speedupOverFixed: 1.1, chosen: true });
  assert.deepEqual([(await runJob(h)).strategy, (await runJob(h)).gamma], ['draft', 'auto']);
  // Another strategy, or a gamma the user picks, keeps a fixed gamma.
  assert.equal((await runJob(h, { strategy: 'eagle' })).gamma, 6);
  assert.equal((await runJob(h, { strategy: 'draft', gamma: 3 })).gamma, 3);
});

test("the contract refuses adaptive settings without gamma 'auto', and 'auto' with ar, in one line", () => {
  const cases: Array<[object, RegExp]> = [
    [{ gamma: 3, draftConfidence: 0.5 }, /apply only with gamma 'auto'/],
    [{ strategy: 'ar', gamma: 'auto' }, /ar drafts nothing/],
    [{ gamma: 'auto', draftConfidence: 1 }, /draftConfidence/],
    [{ gamma: 'fast' }, /gamma/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => parseArgs('synthesize', [DOC, options]),
      (e: Error) => e instanceof InvalidRequestError && message.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(options),
    );
  }
  assert.deepEqual(parseArgs('synthesize', [DOC, { strategy: 'draft', gamma: 'auto', maxGamma: 6, draftConfidence: 0.4 }])[1], {
    strategy: 'draft',
    gamma: 'auto',
    maxGamma: 6,
    draftConfidence: 0.4,
  });
});

test('the contract takes drafts and a medusa tree, and refuses drafts when greedy and a tree for another strategy, in one line', () => {
  assert.deepEqual(parseArgs('synthesize', [DOC, { strategy: 'eagle', temperature: 0.8, drafts: 3 }])[1], { strategy: 'eagle', temperature: 0.8, drafts: 3 });
  for (const tree of [
    [2, 1],
    [[0], [1], [0, 0], [0, 1]],
  ]) {
    assert.deepEqual(parseArgs('synthesize', [DOC, { strategy: 'medusa', tree }])[1], { strategy: 'medusa', tree });
  }
  const cases: Array<[object, RegExp]> = [
    [{ strategy: 'eagle', drafts: 3 }, /drafts above 1 need a temperature/],
    [{ strategy: 'eagle', temperature: 1, drafts: 9 }, /drafts/],
    [{ strategy: 'eagle', tree: [2, 1] }, /only 'medusa' drafts a tree/],
    [{ strategy: 'medusa', tree: [] }, /tree/],
    [{ strategy: 'medusa', tree: [[0], [-1]] }, /tree/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => parseArgs('synthesize', [DOC, options]),
      (e: Error) => e instanceof InvalidRequestError && message.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(options),
    );
  }
});
