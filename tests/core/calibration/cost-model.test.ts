/** The calibration's cost model and choice on synthetic numbers (electron/core/calibration/cost-model.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acceptanceByDepth,
  catchUp,
  choose,
  CostTable,
  nonDecreasing,
  predict,
  stepMs,
  unitsPerStep,
  type AcceptanceProfile,
  type CostGraph,
  type GraphCost,
} from '../../../electron/core/calibration/cost-model.ts';
import { theoreticalSpeedup } from '../../../electron/core/engine/stats.ts';

/** reached[k] = steps · α^k: Leviathan et al.'s i.i.d. acceptance. */
function iid(alpha: number, maxGamma = 8, steps = 1e6): { reached: number[] } {
  return { reached: Array.from({ length: maxGamma + 1 }, (_, k) => steps * alpha ** k) };
}

function profile(drafters: AcceptanceProfile['drafters'], maxGamma = 8): AcceptanceProfile {
  return { maxGamma, drafters, meanPosition: 100, sentences: 24, tokens: 3000 };
}

/** One cost per positions 1 … 9 for a graph at a split. */
function curve(graph: CostGraph, ms: (T: number) => number, threads = 1, targetThreads = 1, upTo = 9): GraphCost[] {
  return Array.from({ length: upTo }, (_, i) => ({ graph, threads, targetThreads, positions: i + 1, ms: ms(i + 1) }));
}

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('τ and the acceptance per depth come from how many steps reached each depth', () => {
  const p = profile({ eagle: { reached: [100, 80, 60, 30, 30, 10, 5, 5, 0] } });
  assert.deepEqual(acceptanceByDepth(p, 'eagle'), [0.8, 0.75, 0.5, 1, 1 / 3, 0.5, 1, 0]);
  close(unitsPerStep(p, 'eagle', 1), 1.8);
  close(unitsPerStep(p, 'eagle', 3), 1 + 0.8 + 0.6 + 0.3);
  close(unitsPerStep(p, 'eagle', 8), 1 + 2.2);
  // Past the measured depth nothing more is counted; a drafter never measured emits one unit a step.
  close(unitsPerStep(p, 'eagle', 12), 3.2);
  assert.equal(unitsPerStep(p, 'draft', 4), 1);
  // EAGLE catches up on all it emitted; the draft model on one token, or two after a full accept.
  close(catchUp(p, 'eagle', 3), 2.7);
  const d = profile({ draft: { reached: [100, 80, 60, 30, 30, 10, 5, 5, 0] } });
  close(catchUp(d, 'draft', 3), 1.3);
});

test("with v(T) = 1 and a drafter costing c per token, the prediction is Leviathan et al.'s Theorem 3.8", () => {
  for (const [alpha, c, gamma] of [
    [0.8, 0.1, 4],
    [0.6, 0.3, 2],
    [0.9, 0.05, 7],
  ] as const) {
    // No chain: one drafter run per token, each costing c whatever it feeds.
    const table = new CostTable([...curve('full', () => 1), ...curve('draft', () => c)]);
    const p = predict({ strategy: 'draft', gamma, threads: 1, targetThreads: 1 }, table, profile({ draft: iid(alpha) }))!;
    close(p.speedup, theoreticalSpeedup(alpha, gamma, c), 1e-9);
  }
});

test("each strategy's step is the sum of the graph calls decode.ts makes", () => {
  const costs = [
    ...curve('full', (T) => 1 + 0.1 * (T - 1)),
    ...curve('rest', (T) => 0.7 + 0.1 * (T - 1)),
    ...curve('eagle', (T) => 0.2 + 0.01 * T),
    { graph: 'eagle_chain_4' as const, threads: 1, targetThreads: 1, positions: 2, ms: 0.5 },
    { graph: 'eagle_chain_4' as const, threads: 1, targetThreads: 1, positions: 4, ms: 0.7 },
    { graph: 'trunk' as const, threads: 1, targetThreads: 1, positions: 1, ms: 0.3 },
    { graph: 'exit_head' as const, threads: 1, targetThreads: 1, positions: 1, ms: 0.1 },
    ...curve('layer_skip', (T) => 0.4 + 0.05 * T),
  ];
  const table = new CostTable(costs);
  const acc = profile({ eagle: iid(0.8), 'early-exit': iid(0.7), 'layer-skip': iid(0.6) });
  const split = { threads: 1, targetThreads: 1 };
  close(stepMs({ strategy: 'ar', gamma: 0, ...split }, table, acc)!, 1);
  // Chain at gamma 4: interpolated at the catch-up τ(4), then full over 5 positions.
  const c4 = catchUp(acc, 'eagle', 4);
  close(stepMs({ strategy: 'eagle', gamma: 4, ...split }, table, acc)!, 0.5 + (0.2 * (c4 - 2)) / 2 + 1.4);
  // No chain at gamma 3: one eagle run catching up, two more on one draft each.
  const c3 = catchUp(acc, 'eagle', 3);
  close(stepMs({ strategy: 'eagle', gamma: 3, ...split }, table, acc)!, 0.2 + 0.01 * c3 + 2 * 0.21 + 1.3);
  // Early exit: the trunk on γ+1 tokens, the head on γ, rest on γ+1 positions.
  close(stepMs({ strategy: 'early-exit', gamma: 3, ...split }, table, acc)!, 4 * 0.3 + 3 * 0.1 + 1.0);
  // Layer skip: its graph catching up on 1 + P(all γ accepted) positions, then once per further draft.
  close(stepMs({ strategy: 'layer-skip', gamma: 3, ...split }, table, acc)!, 0.4 + 0.05 * (1 + 0.6 ** 3) + 2 * 0.45 + 1.3);
  // A strategy whose graphs were not timed at a split cannot be predicted there.
  assert.equal(stepMs({ strategy: 'eagle', gamma: 4, threads: 2, targetThreads: 1 }, table, acc), undefined);
  assert.equal(predict({ strategy: 'draft', gamma: 2, ...split }, table, acc), undefined);
});

test("the seed prophet's step catches up on [bos, pending token] whatever was accepted; medusa's heads run once", () => {
  const costs = [
    ...curve('full', (T) => 1 + 0.1 * (T - 1)),
    ...curve('seed_prophet', (T) => 0.1 + 0.02 * T),
    { graph: 'seed_prophet_chain_3' as const, threads: 1, targetThreads: 1, positions: 2, ms: 0.25 },
    ...curve('medusa', () => 0.05, 1, 1, 1),
  ];
  const table = new CostTable(costs);
  // Medusa measured at its 3 heads only: reached is 0 past them.
  const acc = profile({ prophet: iid(0.9), medusa: { reached: [100, 60, 30, 10, 0, 0, 0, 0, 0], maxGamma: 3 } });
  const split = { threads: 1, targetThreads: 1 };
  assert.deepEqual(acceptanceByDepth(acc, 'medusa'), [0.6, 0.5, 1 / 3]);
  // Its catch-up is 2 however many drafts the last step accepted (iid(0.9) would give EAGLE's τ ≈ 3.4 at γ 4).
  assert.equal(catchUp(acc, 'prophet', 4), 2);
  // A chain at gamma 3: one run on 2 positions, then full over 4.
  close(stepMs({ strategy: 'prophet', gamma: 3, ...split }, table, acc)!, 0.25 + 1.3);
  // No chain at gamma 4: the graph on [bos, pending], then once per further draft.
  close(stepMs({ strategy: 'prophet', gamma: 4, ...split }, table, acc)!, 0.14 + 3 * 0.12 + 1.4);
  const p = predict({ strategy: 'prophet', gamma: 4, ...split }, table, acc)!;
  close(p.unitsPerStep, 1 + 0.9 + 0.81 + 0.729 + 0.6561);
  close(p.speedup, p.unitsPerStep / p.stepMs);
  // Medusa: the heads on one position, full over γ+1; no gamma past its heads.
  close(stepMs({ strategy: 'medusa', gamma: 2, ...split }, table, acc)!, 0.05 + 1.2);
  assert.equal(stepMs({ strategy: 'medusa', gamma: 4, ...split }, table, acc), undefined);
  const choice = choose(table, acc, { strategies: ['ar', 'medusa', 'prophet'], threads: [1], targetThreads: [1] })!;
  assert.ok(choice.byStrategy.medusa && choice.byStrategy.medusa.gamma <= 3);
  assert.equal(choice.byStrategy.prophet?.strategy, 'prophet');
});

test('costs are interpolated between measured positions and extended past the last', () => {
  const table = new CostTable([
    { graph: 'full', threads: 1, targetThreads: 2, positions: 1, ms: 1 },
    { graph: 'full', threads: 1, targetThreads: 2, positions: 3, ms: 2 },
    { graph: 'full', threads: 1, targetThreads: 2, positions: 5, ms: 4 },
  ]);
  const split = { threads: 1, targetThreads: 2 };
  assert.equal(table.ms('full', split, 2), 1.5);
  assert.equal(table.ms('full', split, 4), 3);
  assert.equal(table.ms('full', split, 0.5), 1);
  assert.equal(table.ms('full', split, 6), 5);
  assert.equal(table.ms('full', { threads: 1, targetThreads: 1 }, 1), undefined);
  // Noise that makes more positions cheaper is pooled: a call never costs less for feeding more.
  assert.deepEqual(nonDecreasing([1, 3, 2, 2, 5, 4]), [1, 7 / 3, 7 / 3, 7 / 3, 4.5, 4.5]);
  assert.deepEqual(nonDecreasing([1, 2, 3]), [1, 2, 3]);
  const noisy = new CostTable([1.0, 1.4, 1.1, 1.2].map((ms, i) => ({ graph: 'full' as const, threads: 1, targetThreads: 1, positions: i + 1, ms })));
  assert.deepEqual(
    [1, 2, 3, 4].map((T) => noisy.ms('full', { threads: 1, targetThreads: 1 }, T)!.toFixed(4)),
    ['1.0000', '1.2333', '1.2333', '1.2333'],
  );
});

test("the choice takes the gamma where a costlier verification stops paying, and each strategy's best", () => {
  // Verification grows steeply past 4 positions (as on a CPU whose cache a 6-position call spills).
  const full = (T: number): number => (T <= 4 ? 1 + 0.05 * (T - 1) : 1.15 + 0.4 * (T - 4));
  const chains = [2, 3, 4, 5, 6, 7, 8].flatMap((g) => curve(`eagle_chain_${g}`, () => 0.08 * g));
  const table = new CostTable([...curve('full', full), ...curve('eagle', () => 0.1), ...chains, ...curve('draft', () => 0.3)]);
  const acc = profile({ eagle: iid(0.85), draft: iid(0.85) });
  const choice = choose(table, acc, { strategies: ['ar', 'draft', 'eagle'], threads: [1], targetThreads: [1] })!;
  // Brute force over the same predictions.
  let top = { gamma: 0, speed: 0 };
  for (let g = 1; g <= 8; g++) {
    const s = predict({ strategy: 'eagle', gamma: g, threads: 1, targetThreads: 1 }, table, acc)!.tokensPerSecond;
    if (s > top.speed) top = { gamma: g, speed: s };
  }
  assert.equal(choice.best.strategy, 'eagle');
  assert.equal(choice.best.gamma, top.gamma);
  assert.ok(top.gamma >= 2 && top.gamma <= 4, `gamma ${top.gamma}`);
  assert.equal(choice.byStrategy.ar?.speedup, 1);
  assert.ok(choice.byStrategy.draft && choice.byStrategy.draft.tokensPerSecond < choice.best.tokensPerSecond);
  assert.equal(choice.byStrategy['early-exit'], undefined, 'a strategy without acceptance is not chosen');
});

test('a thread split within the tolerance of the fastest loses to fewer threads; a clear gain wins', () => {
  const base = [...curve('full', (T) => 1 + 0.1 * T, 1, 1), ...curve('eagle', () => 0.1, 1, 1)];
  const acc = profile({ eagle: iid(0.8) });
  const options = { strategies: ['ar', 'eagle'] as const, threads: [1], targetThreads: [1, 2] };
  const slightlyFaster = new CostTable([...base, ...curve('full', (T) => 0.99 * (1 + 0.1 * T), 1, 2), ...curve('eagle', () => 0.1, 1, 2)]);
  const near = choose(slightlyFaster, acc, { ...options, strategies: [...options.strategies] })!;
  assert.deepEqual([near.best.threads, near.best.targetThreads], [1, 1]);
  const muchFaster = new CostTable([...base, ...curve('full', (T) => 0.7 * (1 + 0.1 * T), 1, 2), ...curve('eagle', () => 0.1, 1, 2)]);
  const far = choose(muchFaster, acc, { ...options, strategies: [...options.strategies] })!;
  assert.deepEqual([far.best.threads, far.best.targetThreads], [1, 2]);
  // ar's speedup is over ar at the same split: 1 at each.
  assert.equal(far.byStrategy.ar?.speedup, 1);
});
