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
import { decode, type DecodeOptions } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import { loadModel, type LoadedModel } from '../../../electron/core/engine/model.ts';
import { argmax } from '../../../electron/core/engine/sampling.ts';
import { DecodeOptionError, ModelLoadError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY, TINY_FUSED, TINY_NOEXIT, withCopy } from '../../helpers/fixtures.ts';

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
