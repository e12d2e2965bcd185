/**
 * electron/core/engine/sampling.ts against the slow reference in tests/helpers/reference-sampling.ts:
 * temperature, top-k and top-p on random logits, with many exact ties (integer logits) and without.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sampling from '../../../electron/core/engine/sampling.ts';
import { seededUniform } from '../../../electron/core/engine/random.ts';
import { referenceArgmax, referenceDistribution, type ReferenceSampling } from '../../helpers/reference-sampling.ts';
import { importMutant } from '../../helpers/mutant.ts';

const SAMPLING_TS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../electron/core/engine/sampling.ts');

type SamplingModule = typeof sampling;

interface Case {
  logits: Float32Array;
  options: ReferenceSampling;
}

/** Random cases: vocabulary sizes 1–40, logits continuous or small integers (ties), every setting mixed. */
function cases(count: number, seed: number): Case[] {
  const u = seededUniform(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(u() * xs.length)];
  const out: Case[] = [];
  for (let n = 0; n < count; n++) {
    const V = pick([1, 2, 3, 5, 8, 16, 40]);
    const kind = pick(['normal', 'ties', 'all-equal'] as const);
    const logits = Float32Array.from({ length: V }, () => {
      if (kind === 'all-equal') return 1.5;
      if (kind === 'ties') return Math.floor(u() * 4) - 2;
      return 3 * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    });
    const topK = pick([undefined, 1, 2, 3, V - 1, V, V + 3].filter((k) => k === undefined || k >= 1));
    const topP = pick([undefined, 1, 1e-6, 0.999999, u(), u(), u()]);
    out.push({ logits, options: { temperature: pick([0.05, 0.5, 1, 1.7, 10]), topK, topP } });
  }
  return out;
}

/** Cases where sampling.ts and the reference differ (largest absolute difference above 1e-12), described. */
function disagreements(impl: SamplingModule, all: readonly Case[]): string[] {
  const bad: string[] = [];
  for (const { logits, options } of all) {
    const V = logits.length;
    const expected = referenceDistribution(logits, options);
    // Written at an offset inside larger arrays, as the engine calls it.
    const padded = new Float32Array(V + 7);
    padded.set(logits, 3);
    const out = new Float64Array(V + 5).fill(-1);
    impl.processLogits({ logits: padded, offset: 3, size: V, out, outOffset: 2 }, options);
    const got = out.subarray(2, 2 + V);
    const worst = Math.max(...expected.map((e, i) => Math.abs(e - got[i])));
    if (!(worst <= 1e-12)) bad.push(`V ${V}, ${JSON.stringify(options)}, logits [${[...logits].map((x) => x.toFixed(2))}]: off by ${worst}`);
  }
  return bad;
}

test('processLogits equals the reference temperature → top-k → top-p on 3,000 random cases, ties included', () => {
  const all = cases(3000, 17);
  assert.ok(all.filter((c) => new Set(c.logits).size < c.logits.length).length > 1000, 'most cases hold tied logits');
  const bad = disagreements(sampling, all);
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${all.length} cases differ`);
});

test('argmax takes the lowest id among tied maxima, as the reference does', () => {
  for (const { logits } of cases(500, 18)) {
    assert.equal(sampling.argmax(logits, 0, logits.length), referenceArgmax(logits), `[${[...logits]}]`);
  }
});

test('the comparison fails on mutants of processLogits: ties to the higher id, top-p on mass not renormalised after top-k, top-k off by one', async () => {
  const all = cases(3000, 17);
  const mutants: Record<string, string[][]> = {
    'ties broken by the higher id': [
      ['view.sort((a, b) => out[outOffset + b] - out[outOffset + a] || a - b);', 'view.sort((a, b) => out[outOffset + b] - out[outOffset + a] || b - a);'],
    ],
    'top-p before renormalising the top-k set': [['cumulative += out[outOffset + view[r]] / keptMass;', 'cumulative += out[outOffset + view[r]];']],
    'top-k keeps one token more': [['let keep = keepK ? topK : size;', 'let keep = keepK ? topK + 1 : size;']],
  };
  for (const [label, mutations] of Object.entries(mutants)) {
    const mutant = await importMutant<SamplingModule>(SAMPLING_TS, { mutations: mutations.map(([from, to]) => ({ from, to })) });
    const bad = disagreements(mutant, all);
    assert.ok(bad.length > 0, `${label}: the mutant went unnoticed`);
  }
});

test('sampleIndex draws by inverse CDF: each token exactly on its share of [0, 1)', () => {
  const probs = [0.25, 0, 0.5, 0.25];
  const at = (u: number): number => sampling.sampleIndex(probs, 0, probs.length, () => u);
  assert.deepEqual([0, 0.2499, 0.25, 0.7499, 0.75, 0.9999].map(at), [0, 0, 2, 2, 3, 3]);
});
