/**
 * The Medusa drafter (electron/core/engine/drafters/medusa.ts): its drafts are its heads' argmax at the
 * row's last scored position, its gamma is bounded by its heads, and a model without its graph is
 * refused. Greedy equality with ar and the batch/alone invariant are in decode-greedy.test.ts, the
 * sampled law in decode-lossless.test.ts, adaptive gamma in adaptive-gamma.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as engine from '../../../electron/core/engine/decode.ts';
import { decode, type DecodeOptions } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import { loadModel, type LoadedModel } from '../../../electron/core/engine/model.ts';
import { argmax } from '../../../electron/core/engine/sampling.ts';
import { DecodeOptionError, ModelLoadError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY, TINY_FUSED, TINY_NOEXIT, withCopy } from '../../helpers/fixtures.ts';
import { chiSquareCritical, pooledChiSquare } from '../../helpers/goodness-of-fit.ts';
import { importMutant } from '../../helpers/mutant.ts';
import { referenceDistribution } from '../../helpers/reference-sampling.ts';

const ENGINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../electron/core/engine');

/** Head i's argmax at the target's hidden state of position `sequence.length - 2`, computed apart from the engine. */
async function headsArgmax(model: LoadedModel, sequence: readonly number[]): Promise<number[]> {
  const full = model.graphs.full!;
  const medusa = model.graphs.medusa!;
  const D = full.hiddenDim;
  const V = model.vocabSize;
  const heads = medusa.entry.heads!;
  const at = sequence.length - 2;
  const hidden = new Float32Array(D);
  if (at >= 0) {
    // The whole sequence up to that position, uncached, in one call.
    const cache = KvCache.forGraph(full.entry, 1, at + 1);
    const result = await full.run(cache, { rows: 1, counts: [at + 1], tokenAt: (_s, i) => sequence[i] });
    hidden.set(result.hidden!.subarray(at * D, (at + 1) * D));
  }
  const { logits } = await medusa.run(null, { rows: 1, counts: [1], hiddenAt: (_s, _i, out, offset) => out.set(hidden, offset) });
  return Array.from({ length: heads }, (_, i) => argmax(logits!, i * V, V));
}

for (const dir of [TINY, TINY_NOEXIT, TINY_FUSED]) {
  test(`greedy medusa drafts are its heads' argmax at each row's last scored position (${path.basename(dir)})`, async () => {
    const model = await fixture(dir);
    const prompts = [[1], ...makePrompts([2, 6, 11], model.vocabSize, 7)];
    const sequences = prompts.map((p) => [...p]);
    const steps: { row: number; sequence: number[]; drafted: number[] }[] = [];
    let accepted = 0;
    await decode(model, prompts, {
      strategy: 'medusa',
      gamma: 3,
      maxNewTokens: 20,
      stopToken: null,
      onEvent: (e) => {
        if (e.type !== 'step') return;
        steps.push({ row: e.row, sequence: [...sequences[e.row]], drafted: [...e.drafted] });
        sequences[e.row].push(...[...e.drafted.slice(0, e.accepted), e.token].slice(0, e.emitted));
        accepted += e.accepted;
      },
    });
    assert.ok(steps.length >= 4 * 6, 'every row should take several steps');
    for (const { row, sequence, drafted } of steps) {
      assert.deepEqual(drafted, await headsArgmax(model, sequence), `row ${row} after ${sequence.length} tokens`);
    }
    // Both verification paths ran: some drafts accepted, some rejected.
    assert.ok(accepted > 0 && accepted < steps.length * 3, `accepted ${accepted} of ${steps.length * 3} drafts`);
  });
}

test('medusa refuses a gamma beyond its heads, and with gamma auto a maxGamma beyond them, each in one line', async () => {
  const model = await fixture(TINY);
  const heads = model.graphs.medusa!.entry.heads!;
  const cases: DecodeOptions[] = [
    { strategy: 'medusa', gamma: heads + 1 },
    { strategy: 'medusa', gamma: 'auto', maxGamma: heads + 1 },
  ];
  for (const options of cases) {
    await assert.rejects(
      decode(model, [[1, 5, 2]], options),
      (e: Error) => e instanceof DecodeOptionError && e.message.includes(`medusa graph has ${heads} heads`) && !e.message.includes('\n'),
      JSON.stringify(options),
    );
  }
  // Left out, gamma and maxGamma default to at most the heads: every step drafts no more than them.
  for (const gamma of [undefined, 'auto'] as const) {
    let most = 0;
    await decode(model, [[1, 5, 2]], {
      strategy: 'medusa',
      gamma,
      ...(gamma === 'auto' ? { draftConfidence: 0.01 } : {}),
      maxNewTokens: 12,
      stopToken: null,
      onEvent: (e) => {
        if (e.type === 'step') most = Math.max(most, e.drafted.length);
      },
    });
    assert.equal(most, heads, `gamma ${gamma ?? 'default'}`);
  }
});

test('bad trees are refused in one typed line each, naming what a tree may be', async () => {
  const model = await fixture(TINY_FUSED);
  const heads = model.graphs.medusa!.entry.heads!;
  const cases: [DecodeOptions, RegExp][] = [
    [{ strategy: 'medusa', tree: [] }, /tree = .*candidates per depth .* or nodes as rank paths .* medusa graph has 3 heads/],
    [{ strategy: 'medusa', tree: Array(heads + 1).fill(1) }, /candidates per depth are 1 to 3 integers/],
    [{ strategy: 'medusa', tree: [2, 0] }, /each from 1 to the vocabulary's 16/],
    [{ strategy: 'medusa', tree: [1.5] }, /each from 1 to the vocabulary's 16/],
    [{ strategy: 'medusa', tree: [17] }, /each from 1 to the vocabulary's 16/],
    [{ strategy: 'medusa', tree: [8, 8] }, /at most 64 nodes; \[8, 8\] has 72/],
    [{ strategy: 'medusa', tree: [[0], [0, 1, 2, 3]] }, /a node is 1 to 3 ranks, each from 0 to 15/],
    [{ strategy: 'medusa', tree: [[16]] }, /a node is 1 to 3 ranks, each from 0 to 15/],
    [{ strategy: 'medusa', tree: [[0], 1] as unknown as number[][] }, /a node is 1 to 3 ranks/],
    [{ strategy: 'medusa', tree: [[0], [1], [0]] }, /node \[0\] is given twice/],
    [{ strategy: 'medusa', tree: [[0], [1, 0, 0]] }, /node \[1, 0, 0\] has no parent \[1, 0\]/],
    [{ strategy: 'medusa', tree: Array.from({ length: 65 }, (_, r) => [r % 16, Math.floor(r / 16)]) }, /at most 64 nodes; this one has 65/],
    [{ strategy: 'eagle', tree: [2] }, /only 'medusa' drafts a tree/],
    [{ strategy: 'medusa', tree: [2], gamma: 2 }, /gamma = 2 .* the tree's depth is its draft length/],
    [{ strategy: 'medusa', tree: [2], gamma: 'auto' }, /gamma = "?auto"? .* left out with a tree/],
    [{ strategy: 'medusa', tree: [2], temperature: 1, drafts: 2 }, /drafts = 2 .* 1 with a tree/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      decode(model, [[1, 5, 2]], options),
      (e: Error) => e instanceof DecodeOptionError && message.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(options),
    );
  }
  // A full graph that reads no tree_mask (the exported one) cannot verify a tree.
  const exported = await fixture(TINY);
  await assert.rejects(
    decode(exported, [[1, 5, 2]], { strategy: 'medusa', tree: [2] }),
    (e: Error) => e instanceof DecodeOptionError && /its full graph \(full\.onnx\) reads no tree_mask/.test(e.message) && !e.message.includes('\n'),
  );
});

test('a model without the medusa graph refuses strategy medusa in one line', async () => {
  const model = await loadModel(TINY, { roles: ['full', 'eagle'] });
  try {
    await assert.rejects(
      decode(model, [[1, 5, 2]], { strategy: 'medusa' }),
      (e: Error) => e instanceof DecodeOptionError && /lacks graph\(s\) medusa/.test(e.message) && !e.message.includes('\n'),
    );
  } finally {
    await model.release();
  }
});

test('a medusa entry without "heads", or with heads its graph does not have, is a ModelLoadError naming it', async () => {
  for (const [heads, pattern] of [
    [undefined, /graph "medusa" needs "heads", an integer ≥ 1/],
    [5, /graph "medusa" \(medusa\.onnx\) writes logits of shape \[B, T, 3, 16\]; the manifest declares \(B, T, 5, 16\)/],
  ] as const) {
    await withCopy(TINY, async (dir) => {
      const file = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      manifest.graphs.medusa.heads = heads;
      writeFileSync(file, JSON.stringify(manifest));
      await assert.rejects(loadModel(dir), (e: Error) => e instanceof ModelLoadError && pattern.test(e.message) && !e.message.includes('\n'));
    });
  }
});

test("the joint-law test catches a medusa drafter that hands the verifier another head's q", async () => {
  // decode-lossless.test.ts shows medusa's first three sampled tokens have the target's exact joint law;
  // here a mutant that draws draft i from head i but reports head i + 1's distribution must fail it.
  const model = await fixture(TINY);
  const V = model.vocabSize;
  const prompt = [1, 7, 12, 2];
  const full = model.graphs.full!;
  const rows = V * V;
  const T = prompt.length + 2;
  const cache = new KvCache(full.cacheLayers, full.entry.kv_dim, rows, T + 1);
  const tokenAt = (s: number, i: number): number => (i < prompt.length ? prompt[i] : i === prompt.length ? Math.floor(s / V) : s % V);
  const { logits } = await full.run(cache, { rows, counts: new Array(rows).fill(T), tokenAt });
  const p = (s: number, t: number): Float64Array => referenceDistribution(logits!.subarray((s * T + t) * V, (s * T + t + 1) * V), { temperature: 1 });
  const exact = new Float64Array(V * V * V);
  for (let x1 = 0; x1 < V; x1++)
    for (let x2 = 0; x2 < V; x2++)
      for (let x3 = 0; x3 < V; x3++)
        exact[(x1 * V + x2) * V + x3] = p(0, prompt.length - 1)[x1] * p(x1 * V, prompt.length)[x2] * p(x1 * V + x2, prompt.length + 1)[x3];
  const mutant = await importMutant<typeof engine>(
    path.join(ENGINE, 'decode.ts'),
    { redirect: { './drafters/medusa.ts': 'medusa' } },
    {
      medusa: {
        file: path.join(ENGINE, 'drafters/medusa.ts'),
        mutations: [
          {
            from: 'tokens[s].push(sampleIndex(q, qOffset, V, row.uniform));',
            to: 'tokens[s].push(sampleIndex(q, qOffset, V, row.uniform));\n          picker.distribution(logits, (s * heads + ((i + 1) % heads)) * V, q, qOffset);',
          },
        ],
      },
    },
  );
  const counts = new Float64Array(V * V * V);
  const samples = 10_000;
  const seeds = Array.from({ length: samples }, (_, r) => 9_000_000 + r);
  const result = await mutant.decode(
    model,
    seeds.map(() => prompt),
    { strategy: 'medusa', gamma: 2, temperature: 1, seeds, maxNewTokens: 3, stopToken: null },
  );
  for (const row of result.rows) counts[(row.tokens[0] * V + row.tokens[1]) * V + row.tokens[2]]++;
  const { statistic, df } = pooledChiSquare(counts, exact);
  assert.ok(statistic > chiSquareCritical(df), `the mutant's chi-square ${statistic.toFixed(1)} should exceed ${chiSquareCritical(df).toFixed(1)}`);
});

test("a tree's candidates are each head's most likely tokens in order, the lower id first among equals", async () => {
  const { topIndices } = await import('../../../electron/core/engine/drafters/medusa.ts');
  let seed = 3;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let trial = 0; trial < 2000; trial++) {
    const V = 1 + Math.floor(random() * 40);
    const k = 1 + Math.floor(random() * V);
    // Few distinct values, so ties are common; an offset, as a head's logits sit in a (B, 1, heads, V) block.
    const logits = Float32Array.from({ length: V + 3 }, () => Math.floor(random() * 6));
    const sorted = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[3 + b] - logits[3 + a] || a - b);
    assert.deepEqual(topIndices(logits, 3, V, k), sorted.slice(0, k), `V ${V}, k ${k}`);
  }
});
