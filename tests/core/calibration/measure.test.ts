/** What calibration measures, on the tiny fixture (electron/core/calibration/measure.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catchUp, type AcceptanceProfile } from '../../../electron/core/calibration/cost-model.ts';
import { calibrationPrompts, costPlan, measureAcceptance, measureCosts, planItems, threadCandidates } from '../../../electron/core/calibration/measure.ts';
import { decode } from '../../../electron/core/engine/decode.ts';
import { keepContenders } from '../../../electron/core/calibration/calibrate.ts';
import { fixture, TINY, TINY_VOICE } from '../../helpers/fixtures.ts';

test('thread candidates fit the cores', () => {
  assert.deepEqual(threadCandidates(1), { threads: [1], targetThreads: [1] });
  assert.deepEqual(threadCandidates(2), { threads: [1, 2], targetThreads: [1, 2] });
  assert.deepEqual(threadCandidates(16), { threads: [1, 2], targetThreads: [1, 2, 4, 8] });
});

test("the plan times one step of each strategy and gamma, in the engine's order of calls", () => {
  const acceptance: AcceptanceProfile = {
    maxGamma: 4,
    drafters: {
      eagle: { reached: [100, 80, 60, 40, 20] },
      draft: { reached: [100, 50, 20, 10, 5] },
      'early-exit': { reached: [100, 70, 40, 20, 10] },
      'layer-skip': { reached: [100, 60, 30, 20, 10] },
      prophet: { reached: [100, 90, 80, 70, 60] },
      // Three heads: measured at gamma 3, planned up to it.
      medusa: { reached: [100, 50, 20, 5, 0], maxGamma: 3 },
    },
    meanPosition: 90,
    sentences: 3,
    tokens: 300,
  };
  const plan = costPlan(acceptance, {
    threads: [1, 2],
    targetThreads: [1, 2],
    chainGammas: { eagle: [2, 3, 4], seed_prophet: [2, 3] },
    strategies: ['eagle', 'draft', 'early-exit', 'layer-skip', 'prophet', 'medusa'],
  });
  assert.deepEqual(plan.splits, [
    { threads: 1, targetThreads: 1 },
    { threads: 1, targetThreads: 2 },
    { threads: 2, targetThreads: 1 },
    { threads: 2, targetThreads: 2 },
  ]);
  const steps = Object.fromEntries(plan.steps.map((s) => [s.label, s.calls.map((c) => `${c.graph}/${c.positions}`).join(' ')]));
  assert.equal(plan.steps.length, 1 + 5 * 4 + 3, 'every gamma up to 4 (medusa: 3), with a chain or without');
  assert.equal(steps.ar, 'full/1');
  // eagle: gamma 1 has no chain, one run catching up on τ(1) = 1.8 → 2; 2-4 one chain run at round(τ(γ)).
  assert.equal(steps['eagle γ 1'], 'eagle/2 full/2');
  assert.equal(steps['eagle γ 3'], `eagle_chain_3/${Math.round(catchUp(acceptance, 'eagle', 3))} full/4`);
  // draft: no chains here: one run per draft, the first catching up (1 + P(all accepted), rounded).
  assert.equal(steps['draft γ 3'], 'draft/1 draft/1 draft/1 full/4');
  // early exit: trunk and head per draft, the trunk on the last draft, rest over γ+1 positions.
  assert.equal(steps['early-exit γ 2'], 'trunk/1 exit_head/1 trunk/1 exit_head/1 trunk/1 rest/3');
  // layer skip: as the draft model, with its own graph (1 + P(all 4 accepted) = 1.1 → 1).
  assert.equal(steps['layer-skip γ 4'], 'layer_skip/1 layer_skip/1 layer_skip/1 layer_skip/1 full/5');
  // The seed prophet: its chain, or its graph first on [bos, pending token] (2 positions however many
  // drafts were accepted: its cache starts empty each step), then once per further draft.
  assert.equal(steps['prophet γ 3'], 'seed_prophet_chain_3/2 full/4');
  assert.equal(steps['prophet γ 1'], 'seed_prophet/2 full/2');
  assert.equal(steps['prophet γ 4'], 'seed_prophet/2 seed_prophet/1 seed_prophet/1 seed_prophet/1 full/5');
  // Medusa: the heads once on the last hidden state, full over γ+1; nothing past its heads.
  assert.equal(steps['medusa γ 3'], 'medusa/1 full/4');
  assert.equal(steps['medusa γ 4'], undefined);
  assert.deepEqual(
    planItems(plan)
      .map((i) => `${i.graph}/${i.positions}`)
      .filter((n) => n.startsWith('full'))
      .sort(),
    ['full/1', 'full/2', 'full/3', 'full/4', 'full/5'],
  );
});

test('without a chain only gammas 1-4, 6 and 8 are timed; every gamma with a chain is', () => {
  const reached = [100, 80, 64, 51, 41, 33, 26, 21, 17];
  const acceptance: AcceptanceProfile = {
    maxGamma: 8,
    drafters: { eagle: { reached }, 'early-exit': { reached } },
    meanPosition: 90,
    sentences: 3,
    tokens: 300,
  };
  const plan = costPlan(acceptance, {
    threads: [1],
    targetThreads: [1],
    chainGammas: { eagle: [2, 3, 4, 5, 6, 7, 8] },
    strategies: ['eagle', 'early-exit'],
  });
  const gammas = (strategy: string): number[] => plan.steps.filter((s) => s.label.startsWith(`${strategy} `)).map((s) => Number(s.label.split('γ ')[1]));
  assert.deepEqual(gammas('eagle'), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(gammas('early-exit'), [1, 2, 3, 4, 6, 8]);
});

test("acceptance: every step counted at depth 0, non-increasing with depth, and the same decode as the engine's", async () => {
  const model = await fixture(TINY);
  const input = await calibrationPrompts(model);
  assert.equal(input.source, 'fixed prompts');
  const profile = await measureAcceptance(model, input, { maxGamma: 4 });
  assert.deepEqual(Object.keys(profile.drafters).sort(), ['draft', 'eagle', 'early-exit', 'layer-skip', 'medusa', 'prophet']);
  // The fixture's medusa has 3 heads: measured at gamma 3, depth 4 never reached.
  assert.equal(profile.drafters.medusa!.maxGamma, 3);
  assert.equal(profile.drafters.medusa!.reached[4], 0);
  assert.equal(profile.drafters.prophet!.maxGamma, undefined);
  for (const [strategy, d] of Object.entries(profile.drafters)) {
    assert.equal(d!.reached.length, 5);
    for (let k = 1; k < 5; k++) assert.ok(d!.reached[k] <= d!.reached[k - 1], `${strategy} depth ${k}`);
    // Steps and accepted drafts are those of the engine's own decode with the same settings.
    const gamma = d!.maxGamma ?? 4;
    const result = await decode(model, input.prompts, { strategy: strategy as 'draft', gamma, maxNewTokens: input.maxNewTokens });
    assert.equal(d!.reached[0], result.summary.targetCalls, strategy);
    assert.equal(
      d!.reached.slice(1).reduce((a, n) => a + n, 0),
      result.summary.accepted,
      strategy,
    );
  }
  assert.ok(profile.meanPosition > Math.min(...input.prompts.map((p) => p.length)));
});

test('a voice is calibrated on the bench texts with its own stop rule', async () => {
  const input = await calibrationPrompts(await fixture(TINY_VOICE));
  assert.equal(input.source, 'bench texts');
  // 24 lines; the fixture's short context (128) splits the longer ones further.
  assert.ok(input.prompts.length >= 24, `${input.prompts.length}`);
  for (const [i, p] of input.prompts.entries()) {
    assert.deepEqual([p[0], p.at(-1)], [1, 2]);
    assert.ok(
      p.slice(1, -1).every((t) => t >= 4 && t < 78),
      'phoneme ids',
    );
    // tiny-voice: per_phoneme 1, base 4, context 128.
    assert.equal(input.maxNewTokens[i], Math.min(p.length - 2 + 4, 128 - (p.length - 2) - 3));
  }
});

test('costs: one per distinct call and split, positive', async () => {
  const plan = {
    splits: [
      { threads: 1, targetThreads: 1 },
      { threads: 1, targetThreads: 2 },
    ],
    steps: [
      { label: 'ar', calls: [{ graph: 'full' as const, positions: 1 }] },
      {
        label: 'eagle γ 2',
        calls: [
          { graph: 'eagle_chain_2' as const, positions: 2 },
          { graph: 'full' as const, positions: 3 },
        ],
      },
    ],
  };
  const prophetAndMedusa = [
    { label: 'prophet γ 2', calls: [{ graph: 'seed_prophet_chain_2' as const, positions: 2 }] },
    {
      label: 'prophet γ 5',
      calls: [
        { graph: 'seed_prophet' as const, positions: 2 },
        { graph: 'seed_prophet' as const, positions: 1 },
      ],
    },
    { label: 'medusa γ 3', calls: [{ graph: 'medusa' as const, positions: 1 }] },
  ];
  let asked = 0;
  const costs = await measureCosts(TINY, plan, {
    position: 20,
    rounds: 3,
    // A split dropped after the first round keeps that round's costs.
    keepSplit: (first) => {
      asked++;
      assert.equal(first.length, 6);
      return (split) => split.targetThreads === 1;
    },
  });
  assert.equal(asked, 1);
  for (const c of costs) assert.ok(c.ms > 0 && Number.isFinite(c.ms));
  assert.deepEqual(costs.map((c) => `${c.graph}/${c.positions}@${c.threads}+${c.targetThreads}`).sort(), [
    'eagle_chain_2/2@1+1',
    'eagle_chain_2/2@1+2',
    'full/1@1+1',
    'full/1@1+2',
    'full/3@1+1',
    'full/3@1+2',
  ]);
  // The seed prophet's graph and chain, and the heads (which keep no cache), run as the engine runs them.
  const more = await measureCosts(TINY, { splits: [{ threads: 1, targetThreads: 1 }], steps: prophetAndMedusa }, { position: 20, rounds: 1 });
  assert.deepEqual(more.map((c) => `${c.graph}/${c.positions}`).sort(), ['medusa/1', 'seed_prophet/1', 'seed_prophet/2', 'seed_prophet_chain_2/2']);
  for (const c of more) assert.ok(c.ms > 0 && Number.isFinite(c.ms));
});

test('after one round, only splits within 25 % of the fastest are timed further', () => {
  const acceptance: AcceptanceProfile = { maxGamma: 2, drafters: { eagle: { reached: [10, 8, 6] } }, meanPosition: 50, sentences: 1, tokens: 10 };
  const costs = [1, 2].flatMap((targetThreads) =>
    [1, 2, 3].flatMap((T) => [
      { graph: 'full' as const, threads: 1, targetThreads, positions: T, ms: targetThreads === 1 ? 1 : 10 },
      { graph: 'eagle' as const, threads: 1, targetThreads, positions: T, ms: 0.1 },
    ]),
  );
  const keep = keepContenders(costs, acceptance, { strategies: ['ar', 'eagle'], threads: [1], targetThreads: [1, 2] });
  assert.equal(keep({ threads: 1, targetThreads: 1 }), true);
  assert.equal(keep({ threads: 1, targetThreads: 2 }), false);
});
