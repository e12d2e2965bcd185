/**
 * Adaptive gamma (`gamma: 'auto'`): each row stops drafting before the first draft its drafter is not
 * confident of. The invariants of fixed gamma hold: greedy equals ar token for token, a row in a batch
 * equals the row alone, and sampled output has the target's exact joint law (decode-lossless.test.ts).
 * The tiny fixtures' random weights give confidences around 0.2–0.5, so the thresholds below stop rows
 * at every depth; each case checks that drafting really was cut short.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, type Strategy } from '../../../electron/core/engine/decode.ts';
import { verifyGreedy, verifySampled } from '../../../electron/core/engine/verify.ts';
import { seededUniform } from '../../../electron/core/engine/random.ts';
import { DecodeOptionError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY, TINY_FUSED, TINY_INT8_TARGET } from '../../helpers/fixtures.ts';

const SPECULATIVE: Strategy[] = ['draft', 'early-exit', 'eagle', 'medusa'];
/** The strategies of a fixture: tiny alone carries the seed prophet (`prophet`). */
const speculativeOf = (dir: string): Strategy[] => (dir === TINY ? [...SPECULATIVE, 'prophet'] : SPECULATIVE);
/** The most drafts per step the greedy case asks for: medusa's heads (3 in the fixtures) bound it. */
const maxGammaOf = (strategy: Strategy): number => (strategy === 'medusa' ? 3 : 6);
const THRESHOLDS = [0.25, 0.3, 0.4, 0.6];

for (const dir of [TINY, TINY_FUSED, TINY_INT8_TARGET]) {
  test(`greedy, gamma auto: every strategy emits exactly the tokens of ar (${dir.split('/').pop()}, batch 1, 3 and 6)`, async () => {
    const model = await fixture(dir);
    for (const batch of [1, 3, 6]) {
      const prompts = makePrompts([3, 7, 2, 12, 5, 9].slice(0, batch), model.vocabSize, batch);
      const maxNewTokens = [17, 9, 30, 4, 22, 13].slice(0, batch);
      const ar = await decode(model, prompts, { strategy: 'ar', maxNewTokens, stopToken: null });
      for (const strategy of speculativeOf(dir)) {
        const drafted = new Set<number>();
        for (const draftConfidence of THRESHOLDS) {
          const maxGamma = maxGammaOf(strategy);
          const spec = await decode(model, prompts, { strategy, gamma: 'auto', draftConfidence, maxGamma, maxNewTokens, stopToken: null });
          assert.deepEqual(spec.rows, ar.rows, `${strategy}, batch ${batch}, confidence ${draftConfidence}`);
          assert.ok(spec.summary.meanDrafted >= 1 && spec.summary.meanDrafted <= maxGamma);
          drafted.add(Math.round(spec.summary.meanDrafted * 100));
        }
        // The thresholds change how much is drafted: the limit is really applied.
        assert.ok(drafted.size >= 3, `${strategy}, batch ${batch}: mean drafts per step ${[...drafted].map((d) => d / 100).join(', ')}`);
      }
    }
  });
}

test('gamma auto: a row decoded inside a batch equals the same row decoded alone (greedy and sampling)', async () => {
  const model = await fixture(TINY);
  const prompts = makePrompts([4, 9, 2, 6, 11], model.vocabSize, 5);
  const seeds = [11, 22, 33, 44, 55];
  for (const strategy of speculativeOf(TINY)) {
    for (const temperature of [0, 1]) {
      const options = { strategy, gamma: 'auto' as const, draftConfidence: 0.3, temperature, topK: temperature ? 8 : undefined, maxNewTokens: 24 };
      const together = await decode(model, prompts, { ...options, seeds });
      for (let r = 0; r < prompts.length; r++) {
        const alone = await decode(model, [prompts[r]], { ...options, seeds: [seeds[r]] });
        assert.deepEqual(alone.rows[0], together.rows[r], `${strategy}, temperature ${temperature}, row ${r}`);
      }
    }
  }
});

test('gamma auto: every step drafts 1 to maxGamma tokens, and a row stops only where its drafter was unsure', async () => {
  const model = await fixture(TINY);
  const prompts = makePrompts([5, 8], model.vocabSize, 2);
  const lengths: number[] = [];
  await decode(model, prompts, {
    strategy: 'draft',
    gamma: 'auto',
    draftConfidence: 0.3,
    maxGamma: 5,
    maxNewTokens: 40,
    stopToken: null,
    onEvent: (e) => {
      if (e.type === 'step') lengths.push(e.drafted.length);
    },
  });
  assert.ok(Math.min(...lengths) >= 1 && Math.max(...lengths) <= 5, `draft lengths ${lengths.join(' ')}`);
  assert.ok(new Set(lengths).size >= 3, `draft lengths vary: ${lengths.join(' ')}`);
});

test('verification of rows with fewer drafts than gamma equals verifying each row at its own gamma', () => {
  const V = 6;
  const gamma = 4;
  const lengths = Int32Array.from([4, 1, 2, 3]);
  const rows = lengths.length;
  const u = seededUniform(5);
  const dist = (): number[] => {
    const d = Array.from({ length: V }, () => u() ** 2);
    const sum = d.reduce((a, b) => a + b, 0);
    return d.map((x) => x / sum);
  };
  for (let trial = 0; trial < 200; trial++) {
    const p = Array.from({ length: rows }, () => Array.from({ length: gamma + 1 }, dist));
    const q = Array.from({ length: rows }, () => Array.from({ length: gamma }, dist));
    const drafts = Array.from({ length: rows }, () => Array.from({ length: gamma }, () => Math.floor(u() * V)));
    const batched = verifySampled({
      rows,
      gamma,
      vocabSize: V,
      p: Float64Array.from(p.flat(2)),
      q: Float64Array.from(q.flat(2)),
      draftTokens: Int32Array.from(drafts.flat()),
      lengths,
      uniforms: Array.from(lengths, (_, r) => seededUniform(trial, r)),
    });
    for (let r = 0; r < rows; r++) {
      const g = lengths[r];
      const alone = verifySampled({
        rows: 1,
        gamma: g,
        vocabSize: V,
        p: Float64Array.from(p[r].slice(0, g + 1).flat()),
        q: Float64Array.from(q[r].slice(0, g).flat()),
        draftTokens: Int32Array.from(drafts[r].slice(0, g)),
        uniforms: [seededUniform(trial, r)],
      });
      assert.equal(batched.acceptedCounts[r], alone.acceptedCounts[0], `trial ${trial}, row ${r}: accepted`);
      assert.equal(batched.nextTokens[r], alone.nextTokens[0], `trial ${trial}, row ${r}: next token`);
    }
  }
  const greedy = verifyGreedy({
    rows: 2,
    gamma: 3,
    targetTokens: Int32Array.from([5, 6, 7, 8, /**/ 1, 2, 3, 4]),
    draftTokens: Int32Array.from([5, 6, 7, /**/ 1, 2, 3]),
    lengths: Int32Array.from([2, 3]),
  });
  assert.deepEqual([...greedy.acceptedCounts], [2, 3], 'row 0 holds two drafts: both accepted');
  assert.deepEqual([...greedy.nextTokens], [7, 4], "row 0's bonus is the target's token after its second draft");
});

test("gamma auto is refused with 'ar', and its settings without it, each in one line", async () => {
  const model = await fixture(TINY);
  const prompt = [1, 7, 12, 2];
  const refuse = (options: Parameters<typeof decode>[2], pattern: RegExp): Promise<void> =>
    assert.rejects(decode(model, [prompt], options), (e: Error) => e instanceof DecodeOptionError && pattern.test(e.message) && !e.message.includes('\n'));
  await refuse({ strategy: 'ar', gamma: 'auto' }, /gamma = "?auto"? is not allowed: .*'ar' drafts nothing/);
  await refuse({ strategy: 'draft', gamma: 'auto', draftConfidence: 0 }, /draftConfidence = 0 .*\(0, 1\)/);
  await refuse({ strategy: 'draft', gamma: 'auto', draftConfidence: 1 }, /draftConfidence = 1 /);
  await refuse({ strategy: 'draft', gamma: 'auto', maxGamma: 0 }, /maxGamma = 0 .*1 to 64/);
  await refuse({ strategy: 'draft', gamma: 3, draftConfidence: 0.5 }, /draftConfidence = 0.5 .*only with gamma 'auto'/);
  await refuse({ strategy: 'draft', maxGamma: 5 }, /maxGamma = 5 .*only with gamma 'auto'/);
  await refuse({ strategy: 'draft', gamma: 'fast' as never }, /gamma = "fast" .*or 'auto'/);
});

test('gamma auto drafts one row through the chains (they return their steps logits), greedy and sampled, and truncates them', async () => {
  const model = await fixture(TINY);
  const prompt = [1, 7, 12, 2];
  for (const strategy of ['eagle', 'draft'] as const) {
    for (const temperature of [0, 1]) {
      let chainRuns = 0;
      let stepwiseRuns = 0;
      const lengths: number[] = [];
      const options = { strategy, gamma: 'auto' as const, maxGamma: 4, draftConfidence: 0.3, temperature, seed: 3, maxNewTokens: 40, stopToken: null };
      const chained = await decode(model, [prompt], {
        ...options,
        onGraphCall: (call) => {
          if (call.role === `${strategy}_chain`) chainRuns++;
          if (call.role === strategy) stepwiseRuns++;
        },
        onEvent: (e) => {
          if (e.type === 'step') lengths.push(e.drafted.length);
        },
      });
      assert.ok(chainRuns > 0 && stepwiseRuns === 0, `${strategy}, T=${temperature}: ${chainRuns} chain runs, ${stepwiseRuns} stepwise`);
      assert.ok(new Set(lengths).size >= 2, `${strategy}, T=${temperature}: the chain's drafts are cut at different depths (${lengths.join('')})`);
      // One run per token drafts the same (greedy: the argmax; sampled: the same uniforms), so the output is the same.
      const stepwise = await decode(model, [prompt], { ...options, chains: false });
      assert.deepEqual(stepwise.rows, chained.rows, `${strategy}, T=${temperature}: chained = one run per token`);
    }
  }
});
