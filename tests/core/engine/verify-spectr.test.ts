/**
 * SpecTr's verifier alone (verifySpecTr in electron/core/engine/verify.ts): K drafts per row, each drawn
 * token by token from q(· | its prefix), verified by K-SEQ along the tree they form. Here p and q depend
 * on the whole prefix (a verifier that reads another draft's p or q is caught), and some prefixes end
 * drafting early (adaptive gamma). Two laws are checked by chi-square:
 *
 * - the emitted sequence y_0 … y_k (k accepted drafts, then the replacement or the bonus token) against
 *   its exact law, enumerated from the paper's K-SEQ: n candidates at a prefix are n independent draws
 *   from q; candidate j in turn is accepted with probability min(1, p(x_j) / (ρ q(x_j))), the drafts
 *   holding the accepted token are the next depth's candidates; if none is accepted the token comes
 *   from norm(max(0, p − min(q, p/ρ) · Σ_{j<n} (1 − β)^j)) with β = Σ_x min(q(x), p(x)/ρ). ρ is the
 *   verifier's own (kSeqRho, checked on its own below);
 * - losslessness, whatever ρ: the emitted sequence continued by the test's own draws from p up to
 *   gamma + 1 tokens has p's joint law.
 *
 * Mutants of the real verifier fail the same checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as verify from '../../../electron/core/engine/verify.ts';
import { seededUniform, type Uniform } from '../../../electron/core/engine/random.ts';
import { chiSquareCritical, pooledChiSquare } from '../../helpers/goodness-of-fit.ts';
import { importMutant } from '../../helpers/mutant.ts';

const VERIFY_TS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../electron/core/engine/verify.ts');
type Verify = typeof verify;

/** Draws per world (rows of the batch alternate between a scenario's two worlds). */
const DRAWS = 60_000;
const ROWS = 1000;
/** Significance of each chi-square check: 1e-4 (z = 3.719), fixed seeds, so the test is deterministic. */
const Z = 3.719;

/** p and q of every prefix, and where drafting stops: a toy target and drafter over V tokens. */
interface World {
  label: string;
  V: number;
  gamma: number;
  p: (prefix: readonly number[]) => Float64Array;
  q: (prefix: readonly number[]) => Float64Array;
  /** Drafting stops before the token after `prefix` (adaptive gamma); never at the empty prefix. */
  stops: (prefix: readonly number[]) => boolean;
}

interface Scenario {
  K: number;
  gamma: number;
  V: number;
  worlds: [World, World];
}

function randomDistribution(size: number, uniform: Uniform, zeros: readonly number[] = []): Float64Array {
  const d = new Float64Array(size);
  for (let i = 0; i < size; i++) d[i] = zeros.includes(i) ? 0 : (-Math.log(1 - uniform())) ** 2;
  const sum = d.reduce((a, b) => a + b, 0);
  return d.map((x) => x / sum);
}

/** A world whose distributions are drawn once per prefix, lazily, from its own seeded stream. */
function makeWorld(options: {
  label: string;
  V: number;
  gamma: number;
  seed: number;
  /** Tokens q gives no mass (p has mass there: drafts never propose them). */
  qZeros?: number[];
  /** Tokens p gives no mass (q has mass there: top-k). */
  pZeros?: number[];
  /** Prefixes (joined by ',') after which q equals p. */
  qEqualsP?: string[];
  /** Prefixes (joined by ',') after which drafting stops. */
  stopsAfter?: string[];
}): World {
  const u = seededUniform(options.seed);
  const ps = new Map<string, Float64Array>();
  const qs = new Map<string, Float64Array>();
  const p = (prefix: readonly number[]): Float64Array => {
    const key = prefix.join(',');
    if (!ps.has(key)) ps.set(key, randomDistribution(options.V, u, options.pZeros));
    return ps.get(key)!;
  };
  const q = (prefix: readonly number[]): Float64Array => {
    const key = prefix.join(',');
    if (!qs.has(key)) qs.set(key, options.qEqualsP?.includes(key) ? p(prefix) : randomDistribution(options.V, u, options.qZeros));
    return qs.get(key)!;
  };
  const stops = (prefix: readonly number[]): boolean => prefix.length > 0 && (options.stopsAfter ?? []).includes(prefix.join(','));
  return { label: options.label, V: options.V, gamma: options.gamma, p, q, stops };
}

function scenarios(): Scenario[] {
  return [
    {
      K: 3,
      gamma: 2,
      V: 4,
      worlds: [
        makeWorld({ label: 'K 3, gamma 2, random p and q per prefix', V: 4, gamma: 2, seed: 1 }),
        makeWorld({ label: 'K 3, gamma 2, q zero where p has mass, q = p after "1"', V: 4, gamma: 2, seed: 2, qZeros: [3], qEqualsP: ['1'] }),
      ],
    },
    {
      K: 2,
      gamma: 3,
      V: 3,
      worlds: [
        makeWorld({
          label: 'K 2, gamma 3, p zero where q has mass (top-k), drafting stops after "0" and "2,1"',
          V: 3,
          gamma: 3,
          seed: 3,
          pZeros: [2],
          stopsAfter: ['0', '2,1'],
        }),
        makeWorld({ label: 'K 2, gamma 3, random p and q, drafting stops after "1"', V: 3, gamma: 3, seed: 4, stopsAfter: ['1'] }),
      ],
    },
    {
      K: 5,
      gamma: 1,
      V: 4,
      worlds: [
        makeWorld({ label: 'K 5, gamma 1, random p and q', V: 4, gamma: 1, seed: 5 }),
        makeWorld({ label: 'K 5, gamma 1, q = p at the root', V: 4, gamma: 1, seed: 6, qEqualsP: [''] }),
      ],
    },
  ];
}

/** Sequences of length 1 … gamma+1 as one cell index each: length L fills [offset(L), offset(L) + V^L). */
function cellIndex(tokens: readonly number[], V: number): number {
  let offset = 0;
  for (let L = 1; L < tokens.length; L++) offset += V ** L;
  return offset + tokens.reduce((acc, t) => acc * V + t, 0);
}

function cellCount(V: number, gamma: number): number {
  let cells = 0;
  for (let L = 1; L <= gamma + 1; L++) cells += V ** L;
  return cells;
}

/** Σ_{j<n} (1 − β)^j with β = Σ_x min(q(x), p(x)/ρ): the test's own arithmetic. */
function acceptScale(p: Float64Array, q: Float64Array, rho: number, n: number): number {
  let beta = 0;
  for (let v = 0; v < p.length; v++) beta += Math.min(q[v], p[v] / rho);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += (1 - beta) ** j;
  return sum;
}

/** The exact law of the emitted sequence, enumerating every tuple of candidate tokens at every prefix. */
function exactLaw(world: World, K: number, rhoOf: Verify['kSeqRho']): Float64Array {
  const { V, gamma } = world;
  const law = new Float64Array(cellCount(V, gamma));
  const visit = (prefix: number[], n: number, mass: number): void => {
    const p = world.p(prefix);
    if (prefix.length === gamma || world.stops(prefix)) {
      for (let v = 0; v < V; v++) law[cellIndex([...prefix, v], V)] += mass * p[v];
      return;
    }
    const q = world.q(prefix);
    const rho = rhoOf(p, 0, q, 0, V, n);
    const accept = (x: number): number => Math.min(1, p[x] / (rho * q[x]));
    const scale = acceptScale(p, q, rho, n);
    const residual = Array.from(p, (px, v) => Math.max(0, px - Math.min(q[v], px / rho) * scale));
    const residualMass = residual.reduce((a, b) => a + b, 0);
    const tuple = new Array<number>(n).fill(0);
    for (let t = 0; t < V ** n; t++) {
      for (let j = 0, r = t; j < n; j++, r = Math.floor(r / V)) tuple[j] = r % V;
      let weight = tuple.reduce((w, x) => w * q[x], mass);
      if (weight === 0) continue;
      for (const x of tuple) {
        const a = accept(x);
        if (a > 0) visit([...prefix, x], tuple.filter((y) => y === x).length, weight * a);
        weight *= 1 - a;
      }
      if (weight > 0 && residualMass > 0) for (let v = 0; v < V; v++) law[cellIndex([...prefix, v], V)] += (weight * residual[v]) / residualMass;
    }
  };
  visit([], K, 1);
  return law;
}

/** p's joint law of gamma + 1 tokens. */
function targetJoint(world: World): Float64Array {
  const { V, gamma } = world;
  const joint = new Float64Array(V ** (gamma + 1));
  const visit = (prefix: number[], mass: number): void => {
    if (prefix.length === gamma + 1) {
      joint[prefix.reduce((acc, t) => acc * V + t, 0)] = mass;
      return;
    }
    const p = world.p(prefix);
    for (let v = 0; v < V; v++) if (p[v] > 0) visit([...prefix, v], mass * p[v]);
  };
  visit([], 1);
  return joint;
}

/** The test's own inverse-CDF draw, independent of sampling.ts. */
function draw(dist: Float64Array, u: number): number {
  let cumulative = 0;
  for (let v = 0; v < dist.length; v++) {
    cumulative += dist[v];
    if (u < cumulative && dist[v] > 0) return v;
  }
  return dist.findLastIndex((x) => x > 0);
}

interface Tally {
  /** Counts of each emitted sequence (cellIndex). */
  emitted: Float64Array;
  /** Counts of each emitted sequence continued from p to gamma + 1 tokens. */
  completed: Float64Array;
  /** Draws whose accepted tokens were not the first tokens of the draft they name. */
  inconsistent: number;
  acceptedTokens: number;
}

/** Runs `verifier` on DRAWS rows of each world of the scenario and tallies what they emit. */
function run(verifier: Verify['verifySpecTr'], scenario: Scenario, seed: number): [Tally, Tally] {
  const { K, gamma, V, worlds } = scenario;
  const tallies = worlds.map(() => ({
    emitted: new Float64Array(cellCount(V, gamma)),
    completed: new Float64Array(V ** (gamma + 1)),
    inconsistent: 0,
    acceptedTokens: 0,
  })) as [Tally, Tally];
  const draftUniform = seededUniform(seed, 1);
  const completeUniform = seededUniform(seed, 2);
  const uniforms = Array.from({ length: ROWS }, (_, r) => seededUniform(seed, 100 + r));
  const p = new Float64Array(ROWS * K * (gamma + 1) * V);
  const q = new Float64Array(ROWS * K * gamma * V);
  const draftTokens = new Int32Array(ROWS * K * gamma);
  const lengths = new Int32Array(ROWS * K);
  const drafts: number[][] = [];
  for (let batch = 0; batch < (2 * DRAWS) / ROWS; batch++) {
    for (let r = 0; r < ROWS; r++) {
      const world = worlds[r % 2];
      for (let k = 0; k < K; k++) {
        const d = r * K + k;
        // Draft k: token by token from q(· | its own prefix), until gamma or a prefix where drafting stops.
        const tokens: number[] = [];
        while (tokens.length < gamma && !world.stops(tokens)) {
          q.set(world.q(tokens), (d * gamma + tokens.length) * V);
          tokens.push(draw(world.q(tokens), draftUniform()));
        }
        for (let i = 0; i <= tokens.length; i++) p.set(world.p(tokens.slice(0, i)), (d * (gamma + 1) + i) * V);
        draftTokens.set(tokens, d * gamma);
        lengths[d] = tokens.length;
        drafts[d] = tokens;
      }
    }
    const out = verifier({ rows: ROWS, drafts: K, gamma, vocabSize: V, p, q, draftTokens, lengths, uniforms });
    for (let r = 0; r < ROWS; r++) {
      const world = worlds[r % 2];
      const tally = tallies[r % 2];
      const accepted = out.acceptedCounts[r];
      const source = drafts[r * K + out.acceptedDraft[r]];
      if (!(out.acceptedDraft[r] >= 0 && out.acceptedDraft[r] < K && accepted <= source.length)) tally.inconsistent++;
      const emitted = [...source.slice(0, accepted), out.nextTokens[r]];
      tally.emitted[cellIndex(emitted, V)]++;
      tally.acceptedTokens += accepted;
      const completed = [...emitted];
      while (completed.length < gamma + 1) completed.push(draw(world.p(completed), completeUniform()));
      tally.completed[completed.reduce((acc, t) => acc * V + t, 0)]++;
    }
  }
  return tallies;
}

/** Every check a correct verifier passes; returns the failures, described. */
function failures(module: Verify): string[] {
  const failed: string[] = [];
  for (const [n, scenario] of scenarios().entries()) {
    const tallies = run(module.verifySpecTr, scenario, 17 + n);
    scenario.worlds.forEach((world, w) => {
      const tally = tallies[w];
      if (tally.inconsistent > 0) failed.push(`${world.label}: ${tally.inconsistent} draws name a draft that does not hold their accepted tokens`);
      const checks: Array<[string, Float64Array, Float64Array]> = [
        ['emitted sequences against their exact law', tally.emitted, exactLaw(world, scenario.K, module.kSeqRho)],
        ["emitted sequences continued from p, against p's joint law", tally.completed, targetJoint(world)],
      ];
      for (const [what, counts, law] of checks) {
        const { statistic, df, impossible } = pooledChiSquare(counts, law);
        const critical = chiSquareCritical(df, Z);
        if (impossible > 0) failed.push(`${world.label}, ${what}: ${impossible} draws have probability 0`);
        if (!(statistic < critical)) failed.push(`${world.label}, ${what}: chi-square ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
      }
    });
  }
  return failed;
}

test("SpecTr's emitted sequence has its exact law and, continued from p, p's joint law (K 2, 3, 5; q or p zero in places; q = p; drafting stopped early)", () => {
  assert.deepEqual(failures(verify), []);
});

test('more drafts accept more: the exact expected accepted tokens grow with K, and the verifier attains them', () => {
  const world = makeWorld({ label: 'random', V: 4, gamma: 2, seed: 9 });
  const expected = (K: number): number => {
    // Accepted tokens of an emitted sequence of length L are L − 1.
    const law = exactLaw(world, K, verify.kSeqRho);
    let mean = 0;
    for (let L = 1, offset = 0; L <= world.gamma + 1; offset += 4 ** L, L++) for (let c = 0; c < 4 ** L; c++) mean += law[offset + c] * (L - 1);
    return mean;
  };
  const means = [1, 2, 3, 4].map(expected);
  for (let k = 1; k < means.length; k++) assert.ok(means[k] > means[k - 1] + 0.02, `K ${k + 1}: ${means[k].toFixed(3)} vs K ${k}: ${means[k - 1].toFixed(3)}`);
  const [tally] = run(verify.verifySpecTr, { K: 3, gamma: 2, V: 4, worlds: [world, world] }, 5);
  const measured = tally.acceptedTokens / DRAWS;
  assert.ok(Math.abs(measured - means[2]) < 0.02, `K 3: measured ${measured.toFixed(3)}, exact ${means[2].toFixed(3)}`);
});

test("K-SEQ's ρ meets its condition (up to 1e-12) and is the smallest that does (to 1e-6), 1 for one draft or q = p", () => {
  const u = seededUniform(77);
  const condition = (p: Float64Array, q: Float64Array, rho: number, n: number): number => acceptScale(p, q, rho, n) - rho;
  for (let trial = 0; trial < 200; trial++) {
    const V = 2 + (trial % 7);
    const p = randomDistribution(V, u, trial % 3 === 0 ? [0] : []);
    const q = randomDistribution(V, u, trial % 5 === 0 ? [V - 1] : []);
    for (const n of [2, 3, 5, 8]) {
      const rho = verify.kSeqRho(p, 0, q, 0, V, n);
      assert.ok(rho >= 1 && rho <= n, `trial ${trial}, n ${n}: ρ ${rho}`);
      assert.ok(condition(p, q, rho, n) <= 1e-12 * rho, `trial ${trial}, n ${n}: ρ ${rho} breaks the condition by ${condition(p, q, rho, n)}`);
      if (rho > 1 + 1e-6) assert.ok(condition(p, q, rho - 1e-6, n) > 0, `trial ${trial}, n ${n}: ρ ${rho} is not the smallest`);
    }
    assert.equal(verify.kSeqRho(p, 0, q, 0, V, 1), 1);
    assert.equal(verify.kSeqRho(p, 0, p, 0, V, 4), 1);
  }
});

test("with one draft per row, SpecTr is Leviathan et al.'s verifier draw for draw", () => {
  const V = 7;
  const gamma = 3;
  const rows = 400;
  const u = seededUniform(3);
  const p = new Float64Array(rows * (gamma + 1) * V);
  const q = new Float64Array(rows * gamma * V);
  for (let i = 0; i < rows * (gamma + 1); i++) p.set(randomDistribution(V, u, i % 4 === 0 ? [1, 2] : []), i * V);
  for (let i = 0; i < rows * gamma; i++) q.set(randomDistribution(V, u, i % 3 === 0 ? [0] : []), i * V);
  const draftTokens = new Int32Array(rows * gamma);
  for (let i = 0; i < rows * gamma; i++) draftTokens[i] = draw(q.subarray(i * V, (i + 1) * V), u());
  const lengths = Int32Array.from({ length: rows }, (_, r) => 1 + (r % gamma));
  const streams = (): Uniform[] => Array.from({ length: rows }, (_, r) => seededUniform(5, r));
  const leviathan = verify.verifySampled({ rows, gamma, vocabSize: V, p, q, draftTokens, lengths, uniforms: streams() });
  const spectr = verify.verifySpecTr({ rows, drafts: 1, gamma, vocabSize: V, p, q, draftTokens, lengths, uniforms: streams() });
  assert.deepEqual([...spectr.acceptedCounts], [...leviathan.acceptedCounts]);
  assert.deepEqual([...spectr.nextTokens], [...leviathan.nextTokens]);
  assert.deepEqual([...spectr.acceptedDraft], new Array(rows).fill(0));
});

/** Planted bugs, each one textual change to the real verify.ts. */
const MUTANTS: Record<string, { from: string; to: string }> = {
  'the residual without its scale Σ (1 − β)^j': {
    from: 'Math.min(q[qBase + v], p[pBase + v] / rho) * scale, 0)',
    to: 'Math.min(q[qBase + v], p[pBase + v] / rho), 0)',
  },
  'ρ = 1 for any number of drafts (each accepted as if alone)': { from: 'if (n <= 1) return 1;', to: 'if (n >= 1) return 1;' },
  'the acceptance ratio without ρ': { from: 'uniform() < p[pBase + x] / (rho * q[qBase + x])', to: 'uniform() < p[pBase + x] / q[qBase + x]' },
  'every draft stays a candidate after an acceptance': {
    from: 'candidates = live.filter((d) => draftTokens[d * gamma + depth] === chosen);',
    to: 'candidates = live;',
  },
  "p at every depth read from the row's first draft": {
    from: 'const pBase = (source * (gamma + 1) + depth) * V;',
    to: 'const pBase = (row * K * (gamma + 1) + depth) * V;',
  },
  'the bonus token drawn from p one depth early': {
    from: 'next = sampleIndex(p, (source * (gamma + 1) + depth) * V, V, uniform);',
    to: 'next = sampleIndex(p, (source * (gamma + 1) + depth - 1) * V, V, uniform);',
  },
};

for (const [label, mutation] of Object.entries(MUTANTS)) {
  test(`a mutant of SpecTr's verifier fails the same checks: ${label}`, async () => {
    const mutant = await importMutant<Verify>(VERIFY_TS, { mutations: [mutation] });
    const failed = failures(mutant);
    assert.ok(failed.length > 0, 'the mutant passed every check');
  });
}
