import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifySampled, verifyGreedy } from '../../../electron/core/engine/verify.ts';
import { sampleIndex } from '../../../electron/core/engine/sampling.ts';
import { seededUniform } from '../../../electron/core/engine/random.ts';
import { chiSquare, chiSquareCritical, totalVariation } from '../../helpers/goodness-of-fit.ts';

const DRAWS = 200_000;

function randomDistribution(size: number, uniform: () => number, zeros = 0): Float64Array {
  const d = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    d[i] = i < zeros ? 0 : (-Math.log(1 - uniform())) ** 2;
    sum += d[i];
  }
  for (let i = 0; i < size; i++) d[i] /= sum;
  return d;
}

/**
 * Draws `DRAWS` rows: each drafts gamma tokens from q, is verified against p, and reports its first
 * emitted token. Whatever q is, that token must be distributed as p_1 (Leviathan et al., Theorem 1).
 */
function firstTokenHistogram(p: Float64Array[], q: Float64Array[], gamma: number, seed: number): { counts: Float64Array; accepted: number } {
  const V = p[0].length;
  const rows = 1000;
  const counts = new Float64Array(V);
  const draftUniform = seededUniform(seed, 1);
  const uniforms = Array.from({ length: rows }, (_, r) => seededUniform(seed, 100 + r));
  const pAll = new Float64Array(rows * (gamma + 1) * V);
  const qAll = new Float64Array(rows * gamma * V);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i <= gamma; i++) pAll.set(p[i], (r * (gamma + 1) + i) * V);
    for (let i = 0; i < gamma; i++) qAll.set(q[i], (r * gamma + i) * V);
  }
  const draftTokens = new Int32Array(rows * gamma);
  let accepted = 0;
  for (let batch = 0; batch < DRAWS / rows; batch++) {
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < gamma; i++) draftTokens[r * gamma + i] = sampleIndex(q[i], 0, V, draftUniform);
    }
    const out = verifySampled({ rows, gamma, vocabSize: V, p: pAll, q: qAll, draftTokens, uniforms });
    for (let r = 0; r < rows; r++) {
      const first = out.acceptedCounts[r] > 0 ? draftTokens[r * gamma] : out.nextTokens[r];
      counts[first]++;
      accepted += out.acceptedCounts[r];
    }
  }
  return { counts, accepted };
}

function assertMatches(counts: Float64Array, p: Float64Array, label: string): void {
  const { statistic, df, zeroCellHits } = chiSquare(counts, p);
  const critical = chiSquareCritical(df);
  const tv = totalVariation(counts, p);
  assert.equal(zeroCellHits, 0, `${label}: a token with p = 0 was emitted`);
  // Significance 1e-3 with a fixed seed: deterministic, and a wrong verifier fails by orders of magnitude.
  assert.ok(statistic < critical, `${label}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  assert.ok(tv < 0.01, `${label}: total variation ${tv.toFixed(4)} ≥ 0.01`);
}

test('the first emitted token is distributed as p, whatever q is', () => {
  const V = 7;
  const u = seededUniform(42);
  const cases: Array<{ label: string; gamma: number; q: (i: number) => Float64Array; p: (i: number) => Float64Array }> = [
    { label: 'random p, random q, gamma 3', gamma: 3, p: () => randomDistribution(V, u), q: () => randomDistribution(V, u) },
    { label: 'q zero where p has mass', gamma: 2, p: () => randomDistribution(V, u), q: () => randomDistribution(V, u, 3) },
    { label: 'p zero where q has mass (top-k)', gamma: 4, p: () => randomDistribution(V, u, 4), q: () => randomDistribution(V, u) },
    { label: 'gamma 1', gamma: 1, p: () => randomDistribution(V, u), q: () => randomDistribution(V, u) },
  ];
  for (const c of cases) {
    const p = Array.from({ length: c.gamma + 1 }, (_, i) => c.p(i));
    const q = Array.from({ length: c.gamma }, (_, i) => c.q(i));
    const { counts } = firstTokenHistogram(p, q, c.gamma, 7);
    assertMatches(counts, p[0], c.label);
  }
});

test('q equal to p accepts every draft, and the bonus token is distributed as p_{gamma+1}', () => {
  const V = 5;
  const gamma = 2;
  const u = seededUniform(3);
  const p = [randomDistribution(V, u), randomDistribution(V, u), randomDistribution(V, u)];
  const rows = 1;
  const uniforms = [seededUniform(9)];
  const counts = new Float64Array(V);
  const pAll = new Float64Array([...p[0], ...p[1], ...p[2]]);
  const qAll = new Float64Array([...p[0], ...p[1]]);
  const draftUniform = seededUniform(10);
  for (let n = 0; n < DRAWS / 2; n++) {
    const draftTokens = new Int32Array([sampleIndex(p[0], 0, V, draftUniform), sampleIndex(p[1], 0, V, draftUniform)]);
    const out = verifySampled({ rows, gamma, vocabSize: V, p: pAll, q: qAll, draftTokens, uniforms });
    assert.equal(out.acceptedCounts[0], gamma);
    counts[out.nextTokens[0]]++;
  }
  assertMatches(counts, p[2], 'bonus token');
});

test('a verifier that skips the residual step fails the same check (the test can fail)', () => {
  // Replace the residual draw by a draw from p: the classic bug. The histogram must then be off.
  const V = 4;
  const p = [new Float64Array([0.7, 0.1, 0.1, 0.1]), new Float64Array([0.25, 0.25, 0.25, 0.25])];
  const q = [new Float64Array([0.1, 0.7, 0.1, 0.1])];
  const draftUniform = seededUniform(1);
  const uniform = seededUniform(2);
  const counts = new Float64Array(V);
  for (let n = 0; n < 50_000; n++) {
    const x = sampleIndex(q[0], 0, V, draftUniform);
    const first = uniform() < p[0][x] / q[0][x] ? x : sampleIndex(p[0], 0, V, uniform);
    counts[first]++;
  }
  const { statistic, df } = chiSquare(counts, p[0]);
  assert.ok(statistic > chiSquareCritical(df), 'the buggy verifier should be detected');
});

test('greedy verification accepts while the draft equals the target argmax', () => {
  const out = verifyGreedy({
    rows: 3,
    gamma: 3,
    targetTokens: new Int32Array([5, 6, 7, 8, /**/ 1, 2, 3, 4, /**/ 9, 9, 9, 9]),
    draftTokens: new Int32Array([5, 6, 0, /**/ 1, 2, 3, /**/ 0, 9, 9]),
  });
  assert.deepEqual([...out.acceptedCounts], [2, 3, 0]);
  assert.deepEqual([...out.nextTokens], [7, 4, 9]);
});
