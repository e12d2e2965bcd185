import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeOptionError } from '../../../electron/core/errors.ts';
import { decode, type Strategy } from '../../../electron/core/engine/decode.ts';
import type { GraphCall } from '../../../electron/core/engine/graph.ts';
import { TreeShape, type TreeSpec } from '../../../electron/core/engine/tree.ts';
import { fixture, makePrompts, TINY, TINY_FUSED, TINY_INT8, TINY_INT8_TARGET, TINY_NOEXIT } from '../../helpers/fixtures.ts';

const SPECULATIVE: Strategy[] = ['draft', 'early-exit', 'eagle', 'layer-skip', 'medusa'];
/** The strategies of a fixture: tiny alone carries the seed prophet (`prophet`). */
const speculativeOf = (dir: string): Strategy[] => (dir === TINY ? [...SPECULATIVE, 'prophet'] : SPECULATIVE);
// Medusa drafts at most its heads per step (3 in the fixtures); the others up to 64.
const gammasOf = (strategy: Strategy): number[] => (strategy === 'medusa' ? [1, 2, 3] : [1, 2, 4, 8]);
const PROMPT_LENGTHS = [3, 7, 2, 12, 5, 9, 4, 6];
// Different caps per row so rows stop at different steps (the stop token ends others earlier).
const MAX_NEW = [17, 9, 30, 4, 22, 13, 26, 1];

for (const dir of [TINY, TINY_NOEXIT, TINY_INT8, TINY_FUSED, TINY_INT8_TARGET]) {
  for (const batch of [1, 3, 8]) {
    test(`greedy: every strategy emits exactly the tokens of ar (${dir.split('/').pop()}, batch ${batch})`, async () => {
      const model = await fixture(dir);
      const prompts = makePrompts(PROMPT_LENGTHS.slice(0, batch), model.vocabSize, batch);
      const maxNewTokens = MAX_NEW.slice(0, batch);
      // Random weights rarely emit the manifest's eos: stop on a token that ar emits in some rows instead.
      const free = await decode(model, prompts, { strategy: 'ar', maxNewTokens, stopToken: null });
      const stopToken = free.rows.map((r) => r.tokens[Math.floor(r.tokens.length / 2)]).find((t) => t !== undefined)!;
      const ar = await decode(model, prompts, { strategy: 'ar', maxNewTokens, stopToken });
      const reasons = new Set(ar.rows.map((r) => r.finishReason));
      if (batch === 8) assert.ok(reasons.has('stop') && reasons.has('length'), 'the fixture should stop rows both ways');
      for (const strategy of speculativeOf(dir)) {
        for (const gamma of gammasOf(strategy)) {
          const spec = await decode(model, prompts, { strategy, gamma, maxNewTokens, stopToken });
          assert.deepEqual(spec.rows, ar.rows, `${strategy}, gamma ${gamma}`);
          // Drafts that were never accepted would make the equality above hold trivially.
          if (batch === 8) assert.ok(spec.summary.accepted > 0, `${strategy}, gamma ${gamma}: no draft was accepted`);
        }
      }
    });
  }
}

// Medusa's trees (tree.ts): verified in one call of a `full` that reads tree_mask (the fused fixture's).
// The fixture's heads rarely agree with its target; a depth of all 16 tokens always holds the target's.
const TREES: TreeSpec[] = [
  [1],
  [3, 1],
  [2, 2, 2],
  [8, 2, 1],
  [16],
  [1, 16],
  [16, 2],
  // As nodes (Medusa's sparse trees): a chain with other candidates beside it, a rank left out.
  [[0], [1], [0, 0], [0, 0, 0], [1, 0]],
  [...Array.from({ length: 16 }, (_, r) => [r]), [0, 0], [0, 2], [3, 1], [3, 1, 0]],
];

for (const batch of [1, 3, 8]) {
  test(`greedy: medusa with a tree emits exactly the tokens of ar (tiny-fused, batch ${batch})`, async () => {
    const model = await fixture(TINY_FUSED);
    const prompts = makePrompts(PROMPT_LENGTHS.slice(0, batch), model.vocabSize, batch);
    const maxNewTokens = MAX_NEW.slice(0, batch);
    const free = await decode(model, prompts, { strategy: 'ar', maxNewTokens, stopToken: null });
    const stopToken = free.rows.map((r) => r.tokens[Math.floor(r.tokens.length / 2)]).find((t) => t !== undefined)!;
    const ar = await decode(model, prompts, { strategy: 'ar', maxNewTokens, stopToken });
    let accepted = 0;
    for (const tree of TREES) {
      let offChain = 0;
      const spec = await decode(model, prompts, {
        strategy: 'medusa',
        tree,
        maxNewTokens,
        stopToken,
        onEvent: (e) => {
          if (e.type !== 'step') return;
          accepted += e.accepted;
          assert.ok(e.drafted.length >= 1 && e.drafted.length <= new TreeShape(tree).depth, 'a step reports one path of the tree');
          if (new TreeShape(tree).widths[0] === 16) assert.ok(e.accepted >= 1, `tree ${JSON.stringify(tree)}: every token is a candidate at depth 1`);
        },
        onGraphCall: (call) => {
          // A node past the first child of its parent: positions repeat within one call.
          if (call.role === 'full' && new Set(call.positions).size < call.positions.length) offChain++;
        },
      });
      assert.deepEqual(spec.rows, ar.rows, `tree ${JSON.stringify(tree)}`);
      if (new TreeShape(tree).widths.some((k) => k > 1)) assert.ok(offChain > 0, `tree ${JSON.stringify(tree)}: the calls scored a tree`);
    }
    assert.ok(accepted > 0, 'some drafts accepted');
  });
}

test('a tree is refused in one line on the int8 target, which verifies chains exactly but not trees', async () => {
  const model = await fixture(TINY_INT8_TARGET);
  const prompts = makePrompts([3], model.vocabSize, 1);
  await assert.rejects(decode(model, prompts, { strategy: 'medusa', tree: [2, 1], maxNewTokens: 4 }), (error: Error) => {
    assert.ok(error instanceof DecodeOptionError);
    assert.match(
      error.message,
      /^tree = .* is not allowed: left out with the int8 target: its full graph \(full\.int8\.onnx\) verifies chains exactly, not trees/,
    );
    assert.equal(error.message.split('\n').length, 1);
    return true;
  });
});

test('greedy: the tree [1, 1, 1] accepts what the chain of gamma 3 does, step for step; a wide tree takes fewer steps', async () => {
  const model = await fixture(TINY_FUSED);
  const prompts = makePrompts([3, 7, 2], model.vocabSize, 3);
  const options = { strategy: 'medusa' as const, maxNewTokens: 40, stopToken: null };
  const acceptedBy = async (o: object): Promise<number[]> => {
    const steps: number[] = [];
    await decode(model, prompts.slice(0, 1), { ...options, ...o, onEvent: (e) => e.type === 'step' && steps.push(e.accepted) });
    return steps;
  };
  const chain = await acceptedBy({ gamma: 3 });
  const chainAsTree = await acceptedBy({ tree: [1, 1, 1] });
  assert.deepEqual(chainAsTree, chain, 'the tree [1, 1, 1] is the chain of gamma 3');
  const wide = await acceptedBy({ tree: [16, 2] });
  assert.ok(wide.length < chain.length, `a wider tree takes fewer steps (${wide.length} against ${chain.length})`);
});

// tiny-int8: drafters whose activations are quantised per call ("row_invariant": false), called one row
// at a time when sampling.
for (const dir of [TINY, TINY_FUSED, TINY_INT8_TARGET, TINY_INT8])
  test(`a row decoded inside a batch equals the same row decoded alone (greedy and sampling, ${dir.split('/').pop()})`, async () => {
    const model = await fixture(dir);
    const prompts = makePrompts([4, 9, 2, 6, 11], model.vocabSize, 5);
    const seeds = [11, 22, 33, 44, 55];
    for (const strategy of ['ar', ...speculativeOf(dir)] as Strategy[]) {
      for (const temperature of [0, 1]) {
        const options = { strategy, gamma: 3, temperature, topK: temperature ? 8 : undefined, maxNewTokens: 24 };
        const together = await decode(model, prompts, { ...options, seeds });
        for (let r = 0; r < prompts.length; r++) {
          const alone = await decode(model, [prompts[r]], { ...options, seeds: [seeds[r]] });
          assert.deepEqual(alone.rows[0], together.rows[r], `${strategy}, temperature ${temperature}, row ${r}`);
        }
      }
    }
    if (dir !== TINY_FUSED) return;
    for (const temperature of [0, 1]) {
      const options = { strategy: 'medusa' as const, tree: [3, 2, 1], temperature, topK: temperature ? 8 : undefined, maxNewTokens: 24 };
      const together = await decode(model, prompts, { ...options, seeds });
      for (let r = 0; r < prompts.length; r++) {
        const alone = await decode(model, [prompts[r]], { ...options, seeds: [seeds[r]] });
        assert.deepEqual(alone.rows[0], together.rows[r], `medusa tree, temperature ${temperature}, row ${r}`);
      }
    }
  });

test('early exit runs each token through the trunk once, drafting and verifying alike', async () => {
  const model = await fixture(TINY);
  const prompts = makePrompts([5, 3, 8], model.vocabSize, 3);
  const gamma = 4;
  for (const temperature of [0, 1]) {
    const trunkCalls: GraphCall[] = [];
    const steps = new Map<number, number>();
    const result = await decode(model, prompts, {
      strategy: 'early-exit',
      gamma,
      temperature,
      maxNewTokens: 30,
      stopToken: null,
      onGraphCall: (call) => {
        if (call.role === 'trunk') trunkCalls.push(call);
      },
      onEvent: (e) => {
        if (e.type === 'step') steps.set(e.row, (steps.get(e.row) ?? 0) + 1);
      },
    });
    result.rows.forEach((row, r) => {
      const calls = trunkCalls.filter((c) => c.row === r);
      // Every committed token but the last (decoding ends before it would be fed) has run at its position.
      const sequence = [...prompts[r], ...row.tokens];
      const ran = new Set(calls.flatMap((c) => c.positions.map((pos, i) => `${pos}:${c.tokens![i]}`)));
      sequence.slice(0, -1).forEach((token, pos) => assert.ok(ran.has(`${pos}:${token}`), `row ${r}: position ${pos} never ran`));
      // And the trunk did no more than one pass per fed token: the prompt's prefill, then per step the
      // pending token and the gamma drafts. A recomputed shared layer would add passes here.
      const passes = calls.reduce((n, c) => n + c.positions.length, 0);
      assert.equal(passes, prompts[r].length - 1 + steps.get(r)! * (1 + gamma), `row ${r} trunk passes`);
      // No position ran twice unless a draft there was rejected in between.
      const perPosition = new Map<number, number>();
      for (const c of calls) for (const pos of c.positions) perPosition.set(pos, (perPosition.get(pos) ?? 0) + 1);
      for (let pos = 0; pos < prompts[r].length - 1; pos++) assert.equal(perPosition.get(pos), 1, `prompt position ${pos}`);
    });
  }
});

test('targetThreads gives the verifying graphs their own thread pool and changes no token', async () => {
  const { loadModel } = await import('../../../electron/core/engine/model.ts');
  const base = await fixture(TINY);
  const threaded = await loadModel(TINY, { threads: 1, targetThreads: 2 });
  try {
    const prompts = makePrompts([5, 8], base.vocabSize, 2);
    for (const strategy of ['ar', ...speculativeOf(TINY)] as Strategy[]) {
      const options = { strategy, gamma: 3, maxNewTokens: 20, stopToken: null };
      assert.deepEqual((await decode(threaded, prompts, options)).rows, (await decode(base, prompts, options)).rows, strategy);
    }
  } finally {
    await threaded.release();
  }
});
