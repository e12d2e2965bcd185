/**
 * The verifier alone (electron/core/engine/verify.ts, Leviathan et al. 2022, Algorithm 1). With p and q
 * fixed per position, the whole emitted sequence y_0 … y_k (k accepted drafts, then the replacement or
 * the bonus token) has an exact law, computed here by enumeration:
 *
 *   a draft x at position i is drawn and accepted with probability  min(p_i(x), q_i(x)),
 *   rejected and replaced by v with probability                      max(0, p_i(v) − q_i(v)),
 *   after gamma acceptances the bonus token v comes with probability p_gamma(v).
 *
 * Summed, every position given the ones before it is distributed as p_i, which is what makes speculative
 * sampling lossless. The tests check both, by chi-square, at every emitted position, and show that mutants
 * of the real verifier fail the same checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as verify from '../../../electron/core/engine/verify.ts';
import { seededUniform, type Uniform } from '../../../electron/core/engine/random.ts';
import { chiSquare, chiSquareCritical, pooledChiSquare, totalVariation } from '../../helpers/goodness-of-fit.ts';
import { importMutant } from '../../helpers/mutant.ts';

const VERIFY_TS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../electron/core/engine/verify.ts');
type Verify = typeof verify.verifySampled;

/** Draws per case (rows of the batch alternate between a scenario's two cases). */
const DRAWS = 100_000;
const ROWS = 1000;
/** Significance of each chi-square check: 1e-4 (z = 3.719), fixed seeds, so the test is deterministic. */
const Z = 3.719;

function randomDistribution(size: number, uniform: Uniform, zeros = 0): Float64Array {
  const d = new Float64Array(size);
  for (let i = zeros; i < size; i++) d[i] = (-Math.log(1 - uniform())) ** 2;
  const sum = d.reduce((a, b) => a + b, 0);
  return d.map((x) => x / sum);
}

/** The test's own inverse-CDF draw (the drafter's side), independent of sampling.ts. */
function draw(dist: Float64Array, u: number): number {
  let cumulative = 0;
  for (let v = 0; v < dist.length; v++) {
    cumulative += dist[v];
    if (u < cumulative && dist[v] > 0) return v;
  }
  return dist.findLastIndex((x) => x > 0);
}

interface Case {
  label: string;
  /** gamma + 1 target distributions. */
  p: Float64Array[];
  /** gamma draft distributions. */
  q: Float64Array[];
}

interface Scenario {
  gamma: number;
  V: number;
  /** Two cases, interleaved row by row in every batch (a verifier that mixes rows up is caught). */
  cases: [Case, Case];
}

function scenarios(): Scenario[] {
  const V = 6;
  const u = seededUniform(42);
  const rand = (zeros = 0): Float64Array => randomDistribution(V, u, zeros);
  const make = (label: string, gamma: number, p: (i: number) => Float64Array, q: (i: number) => Float64Array): Case => ({
    label,
    p: Array.from({ length: gamma + 1 }, (_, i) => p(i)),
    q: Array.from({ length: gamma }, (_, i) => q(i)),
  });
  /** q = p at the first `equal` positions (every draft there is accepted, the residual is empty), random after. */
  const same = (gamma: number, equal: number): Case => {
    const p = Array.from({ length: gamma + 1 }, () => rand());
    return { label: `gamma ${gamma}, q = p at the first ${equal} position(s)`, p, q: Array.from({ length: gamma }, (_, i) => (i < equal ? p[i] : rand())) };
  };
  return [
    {
      gamma: 3,
      V,
      cases: [
        make(
          'gamma 3, random p and q',
          3,
          () => rand(),
          () => rand(),
        ),
        make(
          'gamma 3, q zero where p has mass',
          3,
          () => rand(),
          () => rand(2),
        ),
      ],
    },
    {
      gamma: 2,
      V,
      cases: [
        make(
          'gamma 2, p zero where q has mass (top-k)',
          2,
          () => rand(3),
          () => rand(),
        ),
        same(2, 1),
      ],
    },
    {
      gamma: 1,
      V,
      cases: [
        make(
          'gamma 1, random p and q',
          1,
          () => rand(),
          () => rand(),
        ),
        same(1, 1),
      ],
    },
  ];
}

/** Emitted sequences y_0 … y_k as one cell index each: sequences of length L fill [offset(L), offset(L) + V^L). */
function cellIndex(tokens: readonly number[], V: number): number {
  let offset = 0;
  for (let L = 1; L < tokens.length; L++) offset += V ** L;
  return offset + tokens.reduce((acc, t) => acc * V + t, 0);
}

/** The exact law of the emitted sequence, by enumerating every sequence of length 1 … gamma + 1. */
function exactLaw(c: Case, V: number): Float64Array {
  const gamma = c.q.length;
  let cells = 0;
  for (let L = 1; L <= gamma + 1; L++) cells += V ** L;
  const law = new Float64Array(cells);
  const visit = (prefix: number[], mass: number): void => {
    const i = prefix.length;
    for (let v = 0; v < V; v++) {
      if (i === gamma) {
        law[cellIndex([...prefix, v], V)] = mass * c.p[gamma][v];
        continue;
      }
      law[cellIndex([...prefix, v], V)] = mass * Math.max(0, c.p[i][v] - c.q[i][v]);
      const accepted = Math.min(c.p[i][v], c.q[i][v]);
      if (accepted > 0) visit([...prefix, v], mass * accepted);
    }
  };
  visit([], 1);
  return law;
}

interface Tally {
  /** Counts of each emitted sequence (cellIndex). */
  sequences: Float64Array;
  /** Per position i: counts of y_i among draws that reached position i. */
  positions: Float64Array[];
}

/** Runs `verifier` on DRAWS rows of each case of the scenario and tallies what they emit. */
function run(verifier: Verify, scenario: Scenario, seed: number): [Tally, Tally] {
  const { gamma, V, cases } = scenario;
  const law = exactLaw(cases[0], V);
  const tallies = cases.map(() => ({ sequences: new Float64Array(law.length), positions: Array.from({ length: gamma + 1 }, () => new Float64Array(V)) })) as [
    Tally,
    Tally,
  ];
  const pAll = new Float64Array(ROWS * (gamma + 1) * V);
  const qAll = new Float64Array(ROWS * gamma * V);
  for (let r = 0; r < ROWS; r++) {
    const c = cases[r % 2];
    for (let i = 0; i <= gamma; i++) pAll.set(c.p[i], (r * (gamma + 1) + i) * V);
    for (let i = 0; i < gamma; i++) qAll.set(c.q[i], (r * gamma + i) * V);
  }
  const draftUniform = seededUniform(seed, 1);
  const uniforms = Array.from({ length: ROWS }, (_, r) => seededUniform(seed, 100 + r));
  const draftTokens = new Int32Array(ROWS * gamma);
  for (let batch = 0; batch < (2 * DRAWS) / ROWS; batch++) {
    for (let r = 0; r < ROWS; r++) for (let i = 0; i < gamma; i++) draftTokens[r * gamma + i] = draw(cases[r % 2].q[i], draftUniform());
    const out = verifier({ rows: ROWS, gamma, vocabSize: V, p: pAll, q: qAll, draftTokens, uniforms });
    for (let r = 0; r < ROWS; r++) {
      const k = out.acceptedCounts[r];
      const emitted = [...draftTokens.subarray(r * gamma, r * gamma + k), out.nextTokens[r]];
      const tally = tallies[r % 2];
      tally.sequences[cellIndex(emitted, V)]++;
      emitted.forEach((y, i) => tally.positions[i][y]++);
    }
  }
  return tallies;
}

/** Every check a correct verifier passes; returns the failures, described. */
function failures(verifier: Verify): string[] {
  const failed: string[] = [];
  for (const [n, scenario] of scenarios().entries()) {
    const tallies = run(verifier, scenario, 7 + n);
    scenario.cases.forEach((c, k) => {
      const tally = tallies[k];
      // The whole emitted sequence against its exact law: every position at once.
      const joint = pooledChiSquare(tally.sequences, exactLaw(c, scenario.V));
      const jointCritical = chiSquareCritical(joint.df, Z);
      if (joint.impossible > 0) failed.push(`${c.label}: ${joint.impossible} emitted sequences have probability 0`);
      if (!(joint.statistic < jointCritical))
        failed.push(`${c.label}: emitted sequences, chi-square ${joint.statistic.toFixed(1)} ≥ ${jointCritical.toFixed(1)} (df ${joint.df})`);
      // Each position, among the draws that reached it, against p_i.
      tally.positions.forEach((counts, i) => {
        const { statistic, df, zeroCellHits } = chiSquare(counts, c.p[i]);
        const what = i === scenario.gamma ? `bonus token (position ${i})` : `position ${i}`;
        if (zeroCellHits > 0) failed.push(`${c.label}, ${what}: a token with p = 0 was emitted`);
        if (df > 0 && !(statistic < chiSquareCritical(df, Z)))
          failed.push(`${c.label}, ${what}: chi-square ${statistic.toFixed(1)} ≥ ${chiSquareCritical(df, Z).toFixed(1)} (df ${df})`);
        if (!(totalVariation(counts, c.p[i]) < 0.02)) failed.push(`${c.label}, ${what}: total variation ${totalVariation(counts, c.p[i]).toFixed(4)}`);
      });
    });
  }
  return failed;
}

test('every emitted position, and the emitted sequence as a whole, has its exact law (gamma 1–3, q zero or p zero in places, q = p)', () => {
  // Enough draws reach the last position for its check to mean something.
  for (const [n, scenario] of scenarios().entries()) {
    const tallies = run(verify.verifySampled, scenario, 7 + n);
    for (const [k, tally] of tallies.entries()) {
      const reachedLast = tally.positions[scenario.gamma].reduce((a, b) => a + b, 0);
      assert.ok(reachedLast > 1000, `${scenario.cases[k].label}: only ${reachedLast} draws accepted every draft`);
    }
  }
  assert.deepEqual(failures(verify.verifySampled), []);
});

/** Planted bugs, each one textual change to the real verify.ts. */
const MUTANTS: Record<string, { from: string; to: string }> = {
  'the residual norm(max(0, p − q)) replaced by p': { from: 'const d = p[pBase + v] - q[qBase + v];', to: 'const d = p[pBase + v];' },
  'the acceptance ratio q/p instead of p/q': { from: 'if (uniform() < px / qx) {', to: 'if (uniform() < qx / px) {' },
  'the bonus token drawn from p_{gamma-1}': {
    from: 'sampleIndex(p, (row * (gamma + 1) + drafted) * V, V, uniform)',
    to: 'sampleIndex(p, (row * (gamma + 1) + drafted - 1) * V, V, uniform)',
  },
  "every row verified against row 0's q": { from: 'const qBase = (row * gamma + i) * V;', to: 'const qBase = i * V;' },
};

for (const [label, mutation] of Object.entries(MUTANTS)) {
  test(`a mutant of the verifier fails the same checks: ${label}`, async () => {
    const mutant = await importMutant<typeof verify>(VERIFY_TS, { mutations: [mutation] });
    const failed = failures(mutant.verifySampled);
    assert.ok(failed.length > 0, 'the mutant passed every check');
  });
}

test('greedy verification accepts while the draft equals the target argmax', () => {
  const out = verify.verifyGreedy({
    rows: 3,
    gamma: 3,
    targetTokens: new Int32Array([5, 6, 7, 8, /**/ 1, 2, 3, 4, /**/ 9, 9, 9, 9]),
    draftTokens: new Int32Array([5, 6, 0, /**/ 1, 2, 3, /**/ 0, 9, 9]),
  });
  assert.deepEqual([...out.acceptedCounts], [2, 3, 0]);
  assert.deepEqual([...out.nextTokens], [7, 4, 9]);
});
