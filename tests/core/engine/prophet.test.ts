/**
 * The seed prophet's drafter (electron/core/engine/drafters/prophet.ts): its drafts are its graph's argmax
 * over [bos, pending token, earlier drafts] read from h_t, the target's hidden state at the row's last
 * scored position, computed uncached apart from the engine, in a batch and through the chains. Greedy
 * equality with ar and the batch/alone invariant are in decode-greedy.test.ts, the sampled law in
 * decode-lossless.test.ts, adaptive gamma in adaptive-gamma.test.ts, the chains in chain.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import type { LoadedModel } from '../../../electron/core/engine/model.ts';
import { argmax } from '../../../electron/core/engine/sampling.ts';
import { fixture, makePrompts, TINY } from '../../helpers/fixtures.ts';

/** The prophet's greedy drafts after `sequence` (its last token pending), each one uncached run apart from the engine. */
async function prophetArgmax(model: LoadedModel, sequence: readonly number[], gamma: number): Promise<number[]> {
  const full = model.graphs.full!;
  const prophet = model.graphs.seed_prophet!;
  const D = full.hiddenDim;
  const V = model.vocabSize;
  const at = sequence.length - 2;
  const hidden = new Float32Array(D);
  if (at >= 0) {
    const cache = KvCache.forGraph(full.entry, 1, at + 1);
    const result = await full.run(cache, { rows: 1, counts: [at + 1], tokenAt: (_s, i) => sequence[i] });
    hidden.set(result.hidden!.subarray(at * D, (at + 1) * D));
  }
  const drafts: number[] = [];
  for (let i = 0; i < gamma; i++) {
    const input = [model.manifest.vocab.special.bos, sequence[sequence.length - 1], ...drafts];
    const cache = KvCache.forGraph(prophet.entry, 1, input.length);
    const { logits } = await prophet.run(cache, {
      rows: 1,
      counts: [input.length],
      tokenAt: (_s, j) => input[j],
      hiddenAt: (_s, _j, out, offset) => out.set(hidden, offset),
    });
    drafts.push(argmax(logits!, (input.length - 1) * V, V));
  }
  return drafts;
}

for (const chains of [false, true]) {
  test(`greedy prophet drafts are its graph's argmax from h_t at each row's last scored position (${chains ? 'one row, chains' : 'a batch'})`, async () => {
    const model = await fixture(TINY);
    const prompts = [[1], ...makePrompts([2, 6, 11], model.vocabSize, 7)];
    const gamma = 3;
    let steps = 0;
    let accepted = 0;
    for (const batch of chains ? prompts.map((p) => [p]) : [prompts]) {
      const sequences = batch.map((p) => [...p]);
      const seen: { row: number; sequence: number[]; drafted: number[] }[] = [];
      let chainRuns = 0;
      await decode(model, batch, {
        strategy: 'prophet',
        gamma,
        maxNewTokens: 20,
        stopToken: null,
        chains,
        onGraphCall: (call) => {
          if (call.role === 'seed_prophet_chain') chainRuns++;
        },
        onEvent: (e) => {
          if (e.type !== 'step') return;
          seen.push({ row: e.row, sequence: [...sequences[e.row]], drafted: [...e.drafted] });
          sequences[e.row].push(...[...e.drafted.slice(0, e.accepted), e.token].slice(0, e.emitted));
          accepted += e.accepted;
        },
      });
      assert.equal(chainRuns, chains ? seen.length : 0, 'one chain run per step where chains are on, none otherwise');
      for (const { row, sequence, drafted } of seen) {
        assert.deepEqual(drafted, await prophetArgmax(model, sequence, gamma), `row ${row} after ${sequence.length} tokens`);
      }
      steps += seen.length;
    }
    assert.ok(steps >= 4 * 6, 'every row should take several steps');
    // Both verification paths ran: some drafts accepted, some rejected.
    assert.ok(accepted > 0 && accepted < steps * gamma, `accepted ${accepted} of ${steps * gamma} drafts`);
  });
}
