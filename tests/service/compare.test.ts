/**
 * The Compare view's service side: ar and each strategy at each gamma run interleaved (the core's
 * schedule, as `spear bench` runs it), cells streamed as they are measured, requests checked in one
 * line, cancel, and the results written as JSON and CSV.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CompareResult, StudioEvent } from '../../electron/ipc-contract.ts';
import type { SynthesizeHooks } from '../../electron/service/backend.ts';
import type { SynthesisSettings } from '../../electron/core/pipeline/events.ts';
import { parseArgs } from '../../electron/service/schemas.ts';
import { StudioService } from '../../electron/service/service.ts';
import { memorySettings } from '../../electron/service/settings.ts';
import { ServiceClient } from '../../electron/service/client.ts';
import { createFakeBackend } from '../helpers/fake-synthesizer.ts';

const DOC = 'The first sentence is short. The second one is a little longer than the first. A third!';
const FIRST = 'The first sentence is short.';

type Call = { text: string; settings: Partial<SynthesisSettings>; hooks: SynthesizeHooks };

function harness(options: { speed?: number; strategies?: SynthesisSettings['strategy'][] } = {}) {
  const backend = createFakeBackend({ speed: options.speed ?? 0 });
  if (options.strategies) backend.strategies = () => [...options.strategies!];
  const calls: Call[] = [];
  const synthesize = backend.synthesize.bind(backend);
  backend.synthesize = (voice, text, settings, hooks) => (calls.push({ text, settings, hooks }), synthesize(voice, text, settings, hooks));
  const events: StudioEvent[] = [];
  const service = new StudioService({ backend, settings: memorySettings(), emit: (e) => events.push(e) });
  const ended = async (jobId: string): Promise<StudioEvent> => {
    for (;;) {
      const end = events.find((e) => (e.type === 'compare-done' || e.type === 'job-error' || e.type === 'job-canceled') && e.jobId === jobId);
      if (end) return end;
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return { backend, calls, events, service, ended };
}

const configOf = (c: Call): string => (c.settings.strategy === 'ar' ? 'ar' : `${c.settings.strategy}/${c.settings.gamma}`);

test('listStrategies gives what the voice runs: ar without gammas, each drafter at gamma 1…8', async () => {
  const { service } = harness({ strategies: ['ar', 'early-exit'] });
  assert.deepEqual(await service.listStrategies(), [
    { strategy: 'ar', gammas: [] },
    { strategy: 'early-exit', gammas: [1, 2, 3, 4, 5, 6, 7, 8] },
  ]);
  await service.dispose();
});

test("listStrategies says whether the voice verifies medusa's trees, where the backend can tell", async () => {
  for (const trees of [false, true]) {
    const { backend, service } = harness({ strategies: ['ar', 'medusa'] });
    backend.verifiesTrees = () => trees;
    assert.deepEqual((await service.listStrategies()).find((s) => s.strategy === 'medusa')?.trees, trees);
    await service.dispose();
  }
});

test('a comparison runs ar and each strategy at each gamma, interleaved and rotated, after a warm-up pass on the first sentence', async () => {
  const { calls, events, service, ended } = harness();
  const jobId = await service.compare(DOC, { strategies: ['eagle', 'early-exit'], gammas: [2, 4], repeats: 2 });
  const end = await ended(jobId);
  assert.equal(end.type, 'compare-done');
  if (end.type !== 'compare-done') return;
  const configs = ['ar', 'eagle/2', 'eagle/4', 'early-exit/2', 'early-exit/4'];
  const rotated = (r: number): string[] => configs.map((_, i) => configs[(i + r) % configs.length]);
  assert.deepEqual(calls.map(configOf), [...rotated(0), ...rotated(1), ...rotated(2)], 'each round runs every configuration once, rotated by one');
  assert.ok(
    calls.slice(0, 5).every((c) => c.text === FIRST),
    'the warm-up pass reads the first sentence',
  );
  assert.ok(
    calls.slice(5).every((c) => c.text === DOC),
    'the measured rounds read the whole text',
  );
  assert.ok(
    calls.every((c) => c.hooks.rereadings === 0 && c.hooks.speakWhileDecoding === false && c.settings.batchSize === 1 && c.settings.temperature === 0),
    'every run decodes the same work: each sentence once, one at a time, greedy by default',
  );

  const { result } = end;
  assert.deepEqual(
    result.cells.map((c) => `${c.strategy}/${c.gamma}`),
    ['ar/0', 'eagle/2', 'eagle/4', 'early-exit/2', 'early-exit/4'],
  );
  assert.deepEqual([result.runsDone, result.runsTotal], [10, 10]);
  assert.match(result.machine, /\d+ cores?/);
  for (const cell of result.cells) assert.equal(cell.runs, 2);
  const ar = result.cells[0];
  assert.deepEqual([ar.speedup, ar.acceptanceRate, ar.tokensPerTargetCall], [1, 0, 1]);
  for (const cell of result.cells.slice(1)) {
    assert.ok(cell.acceptanceRate > 0.5 && cell.acceptanceRate < 1, `${cell.strategy} γ ${cell.gamma}: α ${cell.acceptanceRate}`);
    assert.ok(cell.tokensPerTargetCall > 1 && cell.tokensPerTargetCall <= (cell.gamma as number) + 1, `τ ${cell.tokensPerTargetCall}`);
    assert.equal(cell.meanDrafted, cell.gamma, 'fixed gamma: every step drafts gamma');
    assert.ok(Math.abs(cell.speedup - cell.tokensPerSecond / ar.tokensPerSecond) < 1e-9, 'speedup is units/s over ar');
    assert.ok(cell.speedupMin <= cell.speedup && cell.speedup <= cell.speedupMax);
  }

  // One progress event before each run (warm-up included), each with the cells measured so far.
  const progress = events.filter((e): e is Extract<StudioEvent, { type: 'compare-progress' }> => e.type === 'compare-progress' && e.jobId === jobId);
  assert.equal(progress.length, 15);
  assert.deepEqual(
    progress.map((p) => p.done),
    [...Array(15).keys()],
  );
  assert.ok(progress.every((p) => p.total === 15));
  assert.equal(progress[0].label, 'warm-up: ar (baseline)');
  assert.equal(progress[5].label, 'repeat 1 of 2: eagle γ 2');
  assert.deepEqual(
    progress.map((p) => p.result.runsDone),
    [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    'the cells arrive one run at a time',
  );
  assert.deepEqual(
    progress[7].result.cells.map((c) => `${c.strategy}/${c.gamma}`),
    ['eagle/2', 'eagle/4'],
    'a cell appears as soon as it has a run',
  );
  await service.dispose();
});

test('a bad request is refused in one line: unknown or unsupported strategy, empty lists, gamma outside 1…8, repeats < 1, no text', async () => {
  const refused = (options: unknown, pattern: RegExp): void => {
    assert.throws(
      () => parseArgs('compare', [DOC, options]),
      (error: Error) => error.name === 'InvalidRequestError' && !error.message.includes('\n') && pattern.test(error.message),
    );
  };
  refused({ strategies: ['warp'], gammas: [1] }, /^compare: invalid argument 1\.strategies\.0: unknown strategy "warp": one of /);
  refused({ strategies: ['ar'], gammas: [1] }, /ar is always run, as the baseline/);
  refused({ strategies: [], gammas: [1] }, /strategies: choose at least one strategy$/);
  refused({ strategies: ['draft'], gammas: [] }, /gammas: choose at least one gamma$/);
  refused({ strategies: ['draft'], gammas: [9] }, /gammas\.0: the Compare view runs gamma from 1 to 8$/);
  refused({ strategies: ['draft'], gammas: [0] }, /gammas\.0:/);
  refused({ strategies: ['draft'], gammas: [2.5] }, /gammas\.0:/);
  refused({ strategies: ['draft', 'draft'], gammas: [1] }, /each strategy once/);
  refused({ strategies: ['draft'], gammas: [3, 3] }, /each gamma once/);
  refused({ strategies: ['draft'], gammas: [1], repeats: 0 }, /repeats: at least 1$/);
  refused({ strategies: ['draft'], gammas: [1], batch: 4 }, /Unrecognized key/);
  assert.deepEqual(parseArgs('compare', [DOC, { strategies: ['draft'], gammas: [1, 8], repeats: 3 }])[1], {
    strategies: ['draft'],
    gammas: [1, 8],
    repeats: 3,
  });

  const { service, events } = harness({ strategies: ['ar', 'early-exit', 'eagle'] });
  await assert.rejects(service.compare(DOC, { strategies: ['draft'], gammas: [1] }), {
    name: 'CompareRequestError',
    message: 'compare: this voice cannot run draft (it runs ar, early-exit, eagle)',
  });
  await assert.rejects(service.compare('  \n', { strategies: ['eagle'], gammas: [1] }), /^CompareRequestError: compare: there is no text to compare on/);
  assert.equal(events.filter((e) => e.type === 'compare-progress').length, 0, 'nothing started');
  await service.dispose();
});

test('cancel stops a comparison; what it measured can still be exported, as JSON and as CSV, atomically', async () => {
  const { events, service, ended } = harness({ speed: 1 });
  const jobId = await service.compare(DOC, { strategies: ['draft'], gammas: [1, 2, 3], repeats: 3 });
  while (!events.some((e) => e.type === 'compare-progress' && e.jobId === jobId && e.result.runsDone >= 4)) await new Promise((r) => setTimeout(r, 5));
  service.cancel(jobId);
  assert.equal((await ended(jobId)).type, 'job-canceled');
  assert.ok(!events.some((e) => e.type === 'compare-done'));

  const dir = await mkdtemp(path.join(os.tmpdir(), 'spear-compare-'));
  try {
    const jsonFile = path.join(dir, 'results.json');
    const { bytes } = await service.exportCompare(jobId, 'json', jsonFile);
    const text = await readFile(jsonFile, 'utf8');
    assert.equal(Buffer.byteLength(text), bytes);
    const json = JSON.parse(text) as { complete: boolean; runsDone: number; runsTotal: number; gammas: number[]; rows: Record<string, unknown>[] };
    assert.equal(json.complete, false);
    assert.equal(json.runsTotal, 12);
    assert.ok(json.runsDone >= 4 && json.runsDone < 12, `runs done ${json.runsDone}`);
    assert.deepEqual(json.gammas, [1, 2, 3]);
    assert.equal(json.rows[0].strategy, 'ar');
    assert.equal(json.rows[0].speedup_vs_ar, 1);

    const csvFile = path.join(dir, 'results.csv');
    await service.exportCompare(jobId, 'csv', csvFile);
    const lines = (await readFile(csvFile, 'utf8')).split('\r\n');
    assert.equal(
      lines[0],
      'strategy,gamma,temperature,runs,sentences,tokens,seconds,tokens_per_s,speedup_vs_ar,speedup_min,speedup_max,acceptance_rate,tokens_per_target_call,mean_drafted,cost_ratio,theoretical_speedup,rtf,time_to_first_audio_ms,machine',
    );
    assert.equal(lines.length, json.rows.length + 2, 'a header, a line per row, and the final line break');
    assert.match(lines[1], /^ar,0,0,\d+,3,/);
    assert.deepEqual((await readdir(dir)).sort(), ['results.csv', 'results.json'], 'no temporary file is left');
    await assert.rejects(service.exportCompare('no-such-comparison', 'json', jsonFile), /comparison no-such-comparison is unknown/);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await service.dispose();
  }
});

test('a new synthesis cancels a running comparison (one job holds the voice)', async () => {
  const { events, service, ended } = harness({ speed: 1 });
  const jobId = await service.compare(DOC, { strategies: ['eagle'], gammas: [1, 2, 3, 4], repeats: 2 });
  await new Promise((r) => setTimeout(r, 20));
  const synthesis = service.synthesize(DOC, {});
  assert.equal((await ended(jobId)).type, 'job-canceled');
  while (!events.some((e) => e.type === 'job' && e.jobId === synthesis && e.event.type === 'done')) await new Promise((r) => setTimeout(r, 5));
  await service.dispose();
});

test('through the worker: listStrategies, compare and the results written to the path the host chose', async () => {
  const client = new ServiceClient({ backendModule: new URL('../helpers/fake-synthesizer.ts', import.meta.url).href });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spear-compare-'));
  try {
    await client.ready;
    const events: StudioEvent[] = [];
    client.onEvent((e) => events.push(e));
    const strategies = await client.call('listStrategies', []);
    assert.ok(strategies.some((s) => s.strategy === 'ar'));
    const drafter = strategies.find((s) => s.strategy !== 'ar')!.strategy as Exclude<SynthesisSettings['strategy'], 'ar'>;
    const jobId = await client.call('compare', [FIRST, { strategies: [drafter], gammas: [1, 2] }]);
    let done: CompareResult | undefined;
    while (!done) {
      const end = events.find((e) => e.type === 'compare-done' && e.jobId === jobId);
      if (end?.type === 'compare-done') done = end.result;
      else await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(done.cells.length, 3);
    const file = path.join(dir, 'out.csv');
    const { bytes } = await client.exportCompareTo([jobId, 'csv'], file);
    assert.equal((await readFile(file)).length, bytes);
    // The client validates nothing (its hosts do, with schemas.ts); the service still checks the voice.
    await assert.rejects(
      client.call('compare', [FIRST, { strategies: [drafter], gammas: [9] }]),
      /this voice cannot run \S+ at gamma 9 \(it runs gamma 1–8\)$/,
    );
  } finally {
    await client.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
