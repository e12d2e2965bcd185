/**
 * Early exit with an exit head that recycles (tests/fixtures/tiny-recycle: its manifest's exit_head says
 * "recycle": true, random W): the head reads the target's final feature of the step's start c at every
 * position it drafts from, and the position before at a position the target had already scored
 * (drafters/early-exit.ts). The invariants of every drafter hold, on the fused target graphs the fixture
 * names and on the exported graphs they were built from; and the drafts are exactly those the rule gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, type DecodeOptions } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import type { Graph, GraphFeed } from '../../../electron/core/engine/graph.ts';
import { loadModel, type LoadedModel } from '../../../electron/core/engine/model.ts';
import { argmax } from '../../../electron/core/engine/sampling.ts';
import type { StepEvent } from '../../../electron/core/engine/stats.ts';
import { RECYCLE_IN } from '../../../electron/core/engine/tensor-names.ts';
import { ModelLoadError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY_RECYCLE, withCopy } from '../../helpers/fixtures.ts';
import { chiSquareCritical, pooledChiSquare } from '../../helpers/goodness-of-fit.ts';
import { referenceDistribution } from '../../helpers/reference-sampling.ts';

/** The fixture with its target graphs' entries pointed back at the exported graphs they were fused from. */
async function withExported<T>(body: (model: LoadedModel) => Promise<T>): Promise<T> {
  return withCopy(TINY_RECYCLE, async (dir) => {
    const file = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    for (const role of ['full', 'trunk', 'rest']) {
      const { source, kv_layout: _layout, kv_heads: _heads, max_positions: _max, ...entry } = manifest.graphs[role];
      manifest.graphs[role] = { ...entry, file: source.file, sha256: source.sha256 };
    }
    writeFileSync(file, JSON.stringify(manifest));
    const model = await loadModel(dir);
    try {
      return await body(model);
    } finally {
      await model.release();
    }
  });
}

test('the recycling exit head loads with recycle_in; a manifest that hides it, or says another graph recycles, is refused', async () => {
  const model = await fixture(TINY_RECYCLE);
  assert.equal(model.manifest.graphs.exit_head!.recycle, true);
  assert.ok(model.graphs.exit_head!.hasRecycle);
  assert.equal(model.graphs.trunk!.entry.kv_layout, 'bnsh', 'the fixture names the fused target graphs');
  await withCopy(TINY_RECYCLE, async (dir) => {
    const file = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    delete manifest.graphs.exit_head.recycle;
    manifest.graphs.exit_head.inputs = manifest.graphs.exit_head.inputs.filter((name: string) => name !== RECYCLE_IN);
    writeFileSync(file, JSON.stringify(manifest));
    await assert.rejects(loadModel(dir), (e: Error) => e instanceof ModelLoadError && e.message.includes(`unexpected input "${RECYCLE_IN}"`));
    manifest.graphs.rest.recycle = true;
    writeFileSync(file, JSON.stringify(manifest));
    await assert.rejects(
      loadModel(dir),
      (e: Error) => e instanceof ModelLoadError && e.message.includes('graph "rest" says "recycle": true; only "exit_head" may'),
    );
  });
});

async function greedyEqualsAr(model: LoadedModel, label: string): Promise<void> {
  for (const batch of [1, 3, 8]) {
    const prompts = makePrompts([3, 7, 2, 12, 5, 9, 4, 6].slice(0, batch), model.vocabSize, batch);
    const maxNewTokens = [17, 9, 30, 4, 22, 13, 26, 1].slice(0, batch);
    const ar = await decode(model, prompts, { strategy: 'ar', maxNewTokens, stopToken: null });
    for (const gamma of [1, 2, 4, 8]) {
      const spec = await decode(model, prompts, { strategy: 'early-exit', gamma, maxNewTokens, stopToken: null });
      assert.deepEqual(spec.rows, ar.rows, `${label}, batch ${batch}, gamma ${gamma}`);
    }
    for (const draftConfidence of [0.25, 0.4, 0.6]) {
      const spec = await decode(model, prompts, { strategy: 'early-exit', gamma: 'auto', draftConfidence, maxGamma: 6, maxNewTokens, stopToken: null });
      assert.deepEqual(spec.rows, ar.rows, `${label}, batch ${batch}, gamma auto at ${draftConfidence}`);
    }
  }
}

test('greedy early exit with recycling emits exactly the tokens of ar, fixed and adaptive gamma (fused target graphs)', async () => {
  await greedyEqualsAr(await fixture(TINY_RECYCLE), 'fused');
});

test('greedy early exit with recycling emits exactly the tokens of ar, fixed and adaptive gamma (exported target graphs)', async () => {
  await withExported((model) => greedyEqualsAr(model, 'exported'));
});

test('with recycling a row decoded inside a batch equals the same row decoded alone (greedy, sampling, gamma auto)', async () => {
  const model = await fixture(TINY_RECYCLE);
  const prompts = makePrompts([4, 9, 2, 6, 11], model.vocabSize, 5);
  const seeds = [11, 22, 33, 44, 55];
  const settings: DecodeOptions[] = [
    { gamma: 3, temperature: 0 },
    { gamma: 3, temperature: 1, topK: 8 },
    { gamma: 'auto', draftConfidence: 0.3, temperature: 1 },
  ];
  for (const setting of settings) {
    const options: DecodeOptions = { strategy: 'early-exit', maxNewTokens: 24, ...setting };
    const together = await decode(model, prompts, { ...options, seeds });
    for (let r = 0; r < prompts.length; r++) {
      const alone = await decode(model, [prompts[r]], { ...options, seeds: [seeds[r]] });
      assert.deepEqual(alone.rows[0], together.rows[r], `${JSON.stringify(setting)}, row ${r}`);
    }
  }
});

/** One uncached run of `graph` over `count` positions of one row: its logits, or its hidden_out. */
async function runWhole(graph: Graph, count: number, feed: Omit<GraphFeed, 'rows' | 'counts'>, output: 'logits' | 'hidden'): Promise<Float32Array> {
  const result = await graph.run(KvCache.forGraph(graph.entry, 1, count + 1), { rows: 1, counts: [count], ...feed });
  return result[output]!;
}

/**
 * Replays one greedy decode's steps (their events: drafted tokens, accepted counts) against the rule: the
 * exit head's cache keeps each position with the feature it read when first fed, h_c at a step's drafted
 * positions, h_{i-1} at a position i ≤ c; each draft is the argmax of an uncached run of the exit head over
 * the sequence so far with those features. `zeroed` replays it with every recycled feature zero.
 */
async function replayDrafts(model: LoadedModel, prompt: number[], tokens: number[], steps: StepEvent[], zeroed = false): Promise<number[][]> {
  const { full, trunk, exit_head: head } = model.graphs as Required<LoadedModel['graphs']>;
  const V = model.vocabSize;
  const D = head.hiddenDim;
  const sequence = [...prompt, ...tokens];
  const features = await runWhole(full, sequence.length, { tokenAt: (_s, i) => sequence[i] }, 'hidden');
  const sources: number[] = []; // the recycled feature's position of each position the exit head's cache holds
  const drafts: number[][] = [];
  let committed = prompt.length;
  for (const step of steps) {
    const p = committed - 1;
    const c = p - 1;
    const replayed: number[] = [];
    for (let j = 0; j < step.drafted.length; j++) {
      const fed = [...sequence.slice(0, p + 1), ...replayed];
      for (let i = sources.length; i < fed.length; i++) sources.push(i <= c ? i - 1 : c);
      const hidden = await runWhole(trunk, fed.length, { tokenAt: (_s, i) => fed[i] }, 'hidden');
      const recycled = (_s: number, i: number, out: Float32Array, offset: number): void => {
        if (zeroed || sources[i] < 0) out.fill(0, offset, offset + D);
        else out.set(features.subarray(sources[i] * D, (sources[i] + 1) * D), offset);
      };
      const hiddenAt = (_s: number, i: number, out: Float32Array, offset: number): void => out.set(hidden.subarray(i * D, (i + 1) * D), offset);
      const logits = await runWhole(head, fed.length, { hiddenAt, recycleAt: recycled }, 'logits');
      replayed.push(argmax(logits, (fed.length - 1) * V, V));
    }
    drafts.push(replayed);
    // The drafter fed positions up to p + drafts - 1 and keeps the committed ones and the accepted drafts.
    sources.length = Math.min(sources.length, p + 1 + step.accepted);
    committed += step.emitted;
  }
  return drafts;
}

test('each draft is the exit head given h_c at the drafted positions and h_{i-1} where the target had scored i', async () => {
  const model = await fixture(TINY_RECYCLE);
  let differsFromZero = 0;
  for (const [r, prompt] of makePrompts([2, 5, 9], model.vocabSize, 7).entries()) {
    for (const gamma of [1, 2, 4]) {
      const steps: StepEvent[] = [];
      const result = await decode(model, [prompt], {
        strategy: 'early-exit',
        gamma,
        maxNewTokens: 24,
        stopToken: null,
        onEvent: (e) => {
          if (e.type === 'step') steps.push(e);
        },
      });
      const tokens = result.rows[0].tokens;
      const expected = await replayDrafts(model, prompt, tokens, steps);
      assert.deepEqual(
        steps.map((s) => s.drafted),
        expected,
        `prompt ${r}, gamma ${gamma}`,
      );
      const zeroed = await replayDrafts(model, prompt, tokens, steps, true);
      differsFromZero += zeroed.flat().filter((t, i) => t !== expected.flat()[i]).length;
    }
  }
  // The replay has power: without the recycled feature some drafts come out otherwise.
  assert.ok(differsFromZero > 0, 'the recycled feature changed no draft; the fixture cannot tell it is fed');
});

const PROMPT = [1, 7, 12, 2];
const SAMPLES = 30_000;
const CHUNK = 5_000;

test("with recycling the first three sampled tokens have the target's joint distribution (temperature 1; gamma 2 and auto)", async () => {
  const model = await fixture(TINY_RECYCLE);
  const V = model.vocabSize;
  const graph = model.graphs.full!;
  const rows = V * V;
  const T = PROMPT.length + 2;
  const cache = KvCache.forGraph(graph.entry, rows, T + 1);
  const tokenAt = (s: number, i: number): number => (i < PROMPT.length ? PROMPT[i] : i === PROMPT.length ? Math.floor(s / V) : s % V);
  const { logits } = await graph.run(cache, { rows, counts: new Array(rows).fill(T), tokenAt });
  const dist = (s: number, t: number): Float64Array => referenceDistribution(logits!.subarray((s * T + t) * V, (s * T + t + 1) * V), { temperature: 1 });
  const exact = new Float64Array(V * V * V);
  const p1 = dist(0, PROMPT.length - 1);
  for (let x1 = 0; x1 < V; x1++) {
    const p2 = dist(x1 * V, PROMPT.length);
    for (let x2 = 0; x2 < V; x2++) {
      const p3 = dist(x1 * V + x2, PROMPT.length + 1);
      for (let x3 = 0; x3 < V; x3++) exact[(x1 * V + x2) * V + x3] = p1[x1] * p2[x2] * p3[x3];
    }
  }
  const settings: Array<Pick<DecodeOptions, 'gamma' | 'draftConfidence'>> = [{ gamma: 2 }, { gamma: 'auto', draftConfidence: 0.3 }];
  for (const [k, setting] of settings.entries()) {
    const counts = new Float64Array(V * V * V);
    for (let start = 0; start < SAMPLES; start += CHUNK) {
      const prompts = Array.from({ length: CHUNK }, () => PROMPT);
      const seeds = Array.from({ length: CHUNK }, (_, r) => 9_000_000 * (k + 1) + start + r);
      const result = await decode(model, prompts, { strategy: 'early-exit', ...setting, temperature: 1, seeds, maxNewTokens: 3, stopToken: null });
      for (const row of result.rows) counts[(row.tokens[0] * V + row.tokens[1]) * V + row.tokens[2]]++;
    }
    const { statistic, df, impossible } = pooledChiSquare(counts, exact);
    const critical = chiSquareCritical(df);
    assert.equal(impossible, 0, `${JSON.stringify(setting)}: emitted a sequence the target gives probability 0`);
    // Significance 1e-3, fixed seeds: deterministic; a biased verifier lands far beyond it.
    assert.ok(statistic < critical, `${JSON.stringify(setting)}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  }
});
