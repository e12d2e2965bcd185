import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, STRATEGIES, type DecodeOptions, type Strategy } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import type { LoadedModel } from '../../../electron/core/engine/model.ts';
import { chainRole } from '../../../electron/core/engine/tensor-names.ts';
import type { TreeSpec } from '../../../electron/core/engine/tree.ts';
import { fixture, TINY, TINY_FUSED, TINY_INT8, TINY_INT8_TARGET } from '../../helpers/fixtures.ts';
import { chiSquareCritical, pooledChiSquare } from '../../helpers/goodness-of-fit.ts';
import { referenceDistribution, type ReferenceSampling } from '../../helpers/reference-sampling.ts';

const PROMPT = [1, 7, 12, 2];
const SAMPLES = 30_000;
const CHUNK = 5_000;

/**
 * The target's exact joint distribution of the first three tokens: `full`'s logits for every (x1, x2),
 * one uncached forward each, processed by the test's own reference (tests/helpers/reference-sampling.ts),
 * not by the engine's sampling code.
 */
async function exactJoint(model: LoadedModel, sampling: ReferenceSampling): Promise<Float64Array> {
  const V = model.vocabSize;
  const graph = model.graphs.full!;
  const rows = V * V;
  const T = PROMPT.length + 2;
  const cache = KvCache.forGraph(graph.entry, rows, T + 1);
  const tokenAt = (s: number, i: number): number => (i < PROMPT.length ? PROMPT[i] : i === PROMPT.length ? Math.floor(s / V) : s % V);
  const { logits } = await graph.run(cache, { rows, counts: new Array(rows).fill(T), tokenAt });
  const dist = (s: number, t: number): Float64Array => referenceDistribution(logits!.subarray((s * T + t) * V, (s * T + t + 1) * V), sampling);
  const joint = new Float64Array(V * V * V);
  const p1 = dist(0, PROMPT.length - 1);
  for (let x1 = 0; x1 < V; x1++) {
    const p2 = dist(x1 * V, PROMPT.length);
    for (let x2 = 0; x2 < V; x2++) {
      const p3 = dist(x1 * V + x2, PROMPT.length + 1);
      for (let x3 = 0; x3 < V; x3++) joint[(x1 * V + x2) * V + x3] = p1[x1] * p2[x2] * p3[x3];
    }
  }
  return joint;
}

async function sampledJoint(
  model: LoadedModel,
  strategy: Strategy,
  sampling: ReferenceSampling,
  seedBase: number,
  adaptive: Pick<DecodeOptions, 'gamma' | 'draftConfidence' | 'drafts' | 'tree'> = { gamma: 2 },
): Promise<Float64Array> {
  const V = model.vocabSize;
  const counts = new Float64Array(V * V * V);
  for (let start = 0; start < SAMPLES; start += CHUNK) {
    const prompts = Array.from({ length: CHUNK }, () => PROMPT);
    const seeds = Array.from({ length: CHUNK }, (_, r) => seedBase + start + r);
    const result = await decode(model, prompts, { strategy, ...adaptive, ...sampling, seeds, maxNewTokens: 3, stopToken: null });
    for (const row of result.rows) counts[(row.tokens[0] * V + row.tokens[1]) * V + row.tokens[2]]++;
  }
  return counts;
}

const SETTINGS: Array<{ label: string; sampling: ReferenceSampling }> = [
  { label: 'temperature 1', sampling: { temperature: 1 } },
  { label: 'temperature 1, top-k 5', sampling: { temperature: 1, topK: 5 } },
  { label: 'temperature 0.8, top-p 0.7', sampling: { temperature: 0.8, topP: 0.7 } },
];

for (const { label, sampling } of SETTINGS) {
  test(`the first three sampled tokens have the target's joint distribution (${label})`, async () => {
    const model = await fixture(TINY);
    const exact = await exactJoint(model, sampling);
    for (const [k, strategy] of (['ar', 'draft', 'early-exit', 'eagle', 'layer-skip', 'medusa', 'prophet'] as Strategy[]).entries()) {
      const counts = await sampledJoint(model, strategy, sampling, 1_000_000 * (k + 1));
      const { statistic, df, impossible } = pooledChiSquare(counts, exact);
      const critical = chiSquareCritical(df);
      assert.equal(impossible, 0, `${strategy}: emitted a sequence the target gives probability 0`);
      // Significance 1e-3, fixed seeds: deterministic; a biased verifier lands far beyond it.
      assert.ok(statistic < critical, `${strategy}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
    }
  });
}

// The int8 target (min_tokens 2, one row per call): its verifications pad and split calls, ar's too.
test('the int8 target: the first three sampled tokens have its joint distribution (temperature 1)', async () => {
  const model = await fixture(TINY_INT8_TARGET);
  const exact = await exactJoint(model, SETTINGS[0].sampling);
  for (const [k, strategy] of (['early-exit', 'eagle'] as Strategy[]).entries()) {
    const counts = await sampledJoint(model, strategy, SETTINGS[0].sampling, 21_000_000 * (k + 1));
    const { statistic, df, impossible } = pooledChiSquare(counts, exact);
    const critical = chiSquareCritical(df);
    assert.equal(impossible, 0, `${strategy}: emitted a sequence the target gives probability 0`);
    assert.ok(statistic < critical, `${strategy}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  }
});

// Medusa's trees (tree.ts): deterministic candidates under the point-mass rule (verifyTreeSampled). [16]
// makes every token a candidate at depth 1, so the first token comes from the children alone; [3, 2]
// mixes accepted children and residual draws at both depths; the sparse tree skips ranks and ends
// its paths at different depths.
for (const { label, sampling } of [SETTINGS[0], SETTINGS[2]]) {
  test(`medusa with a tree: the first three sampled tokens have the target's joint distribution (${label})`, async () => {
    const model = await fixture(TINY_FUSED);
    const exact = await exactJoint(model, sampling);
    const trees: TreeSpec[] = [[16], [3, 2], [2, 2, 2], [[0], [2], [0, 0], [0, 1], [2, 3], [0, 1, 0]]];
    for (const [k, tree] of trees.entries()) {
      const counts = await sampledJoint(model, 'medusa', sampling, 11_000_000 * (k + 1), { tree });
      const { statistic, df, impossible } = pooledChiSquare(counts, exact);
      const critical = chiSquareCritical(df);
      assert.equal(impossible, 0, `tree ${JSON.stringify(tree)}: emitted a sequence the target gives probability 0`);
      assert.ok(statistic < critical, `tree ${JSON.stringify(tree)}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
    }
  });
}

// Adaptive gamma: where a row stops drafting depends on the drafts so far (through the drafter's
// confidence), never on the target; at 0.3 the tiny drafters stop after 1 to 8 drafts.
test("with gamma auto the first three sampled tokens have the target's joint distribution (temperature 1, top-k 5)", async () => {
  const model = await fixture(TINY);
  const sampling: ReferenceSampling = { temperature: 1, topK: 5 };
  const exact = await exactJoint(model, sampling);
  for (const [k, strategy] of (['draft', 'early-exit', 'eagle', 'medusa', 'prophet'] as Strategy[]).entries()) {
    const counts = await sampledJoint(model, strategy, sampling, 5_000_000 * (k + 1), { gamma: 'auto', draftConfidence: 0.3 });
    const { statistic, df, impossible } = pooledChiSquare(counts, exact);
    const critical = chiSquareCritical(df);
    assert.equal(impossible, 0, `${strategy}: emitted a sequence the target gives probability 0`);
    assert.ok(statistic < critical, `${strategy}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  }
});

// Int8 drafters (the shipped voice's) change q, never p: the verifier must still give the target's law.
test("with int8 drafters the first three sampled tokens still have the target's joint distribution (temperature 1)", async () => {
  const model = await fixture(TINY_INT8);
  const sampling: ReferenceSampling = { temperature: 1 };
  const exact = await exactJoint(model, sampling);
  for (const [k, strategy] of (['draft', 'early-exit', 'eagle', 'medusa'] as Strategy[]).entries()) {
    const counts = await sampledJoint(model, strategy, sampling, 7_000_000 * (k + 1));
    const { statistic, df, impossible } = pooledChiSquare(counts, exact);
    const critical = chiSquareCritical(df);
    assert.equal(impossible, 0, `${strategy}: emitted a sequence the target gives probability 0`);
    assert.ok(statistic < critical, `${strategy}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  }
});

// One row at a time, sampling with temperature alone: the drafters' sampled chains draft (the batches
// above use the drafters' graphs). Their drafts are tested draw for draw against one run per token in
// tests/core/engine/chain.test.ts; here the law of what comes out.
test("drafted by the sampled chains, one row at a time, the first three tokens have the target's joint distribution", async () => {
  const model = await fixture(TINY);
  const V = model.vocabSize;
  const sampling: ReferenceSampling = { temperature: 1 };
  const exact = await exactJoint(model, sampling);
  const samples = 6_000;
  for (const [k, strategy] of (['draft', 'eagle', 'prophet'] as const).entries()) {
    const drafter = strategy === 'prophet' ? 'seed_prophet' : strategy;
    const counts = new Float64Array(V * V * V);
    let chainRuns = 0;
    let stepwiseRuns = 0;
    for (let i = 0; i < samples; i++) {
      const result = await decode(model, [PROMPT], {
        strategy,
        gamma: 2,
        ...sampling,
        seed: 9_000_000 * (k + 1) + i,
        maxNewTokens: 3,
        stopToken: null,
        onGraphCall: (call) => {
          if (call.role === chainRole(drafter)) chainRuns++;
          if (call.role === drafter) stepwiseRuns++;
        },
      });
      const [x1, x2, x3] = result.rows[0].tokens;
      counts[(x1 * V + x2) * V + x3]++;
    }
    assert.ok(chainRuns >= samples, `${strategy}: every decode drafted with the sampled chain (${chainRuns} runs)`);
    // A disagreement between the chain's float32 draw and the engine's would redraft a step one run per token.
    assert.equal(stepwiseRuns, 0, `${strategy}: no step fell back to one run per token`);
    const { statistic, df, impossible } = pooledChiSquare(counts, exact);
    const critical = chiSquareCritical(df);
    assert.equal(impossible, 0, `${strategy}: emitted a sequence the target gives probability 0`);
    assert.ok(statistic < critical, `${strategy}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  }
});

// SpecTr: three drafts per row and step, drawn independently and verified together by K-SEQ
// (verifySpecTr), for every drafter; at gamma 2 the tree of drafts decides the first three tokens.
for (const { label, sampling } of SETTINGS.slice(1, 2)) {
  test(`with drafts: 3 the first three sampled tokens have the target's joint distribution (${label})`, async () => {
    const model = await fixture(TINY);
    const exact = await exactJoint(model, sampling);
    for (const [k, strategy] of STRATEGIES.filter((s) => s !== 'ar').entries()) {
      const counts = await sampledJoint(model, strategy, sampling, 11_000_000 * (k + 1), { gamma: 2, drafts: 3 });
      const { statistic, df, impossible } = pooledChiSquare(counts, exact);
      const critical = chiSquareCritical(df);
      assert.equal(impossible, 0, `${strategy}: emitted a sequence the target gives probability 0`);
      assert.ok(statistic < critical, `${strategy}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
    }
  });
}
