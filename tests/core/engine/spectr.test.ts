/**
 * SpecTr in the engine (`drafts` K > 1, electron/core/engine/spectr.ts): K drafts per row, each in
 * cache slots of its own, verified together. The invariants of one draft hold: a row in a batch equals
 * the row alone, and the steps' events rebuild the row's tokens. The law of the sampled tokens is
 * checked in decode-lossless.test.ts; the verifier alone in verify-spectr.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, decodeWithDrafter, STRATEGIES, type DecodeOptions, type Strategy } from '../../../electron/core/engine/decode.ts';
import type { Target } from '../../../electron/core/engine/drafters/types.ts';
import { PositionStore, type FedResult } from '../../../electron/core/engine/feed.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import { seededUniform } from '../../../electron/core/engine/random.ts';
import { keepAcceptedDrafts, SlotTable, type RowState } from '../../../electron/core/engine/rows.ts';
import { SpecTrRows } from '../../../electron/core/engine/spectr.ts';
import type { StepEvent } from '../../../electron/core/engine/stats.ts';
import { DecodeOptionError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY, TINY_FUSED, TINY_INT8_TARGET } from '../../helpers/fixtures.ts';

/** Every strategy with a drafter: each can sample K drafts. */
const DRAFTING = STRATEGIES.filter((s) => s !== 'ar') as Strategy[];

/** Decodes and rebuilds each row's tokens from its step events (what the pipeline does). */
async function decodeWithEvents(model: Awaited<ReturnType<typeof fixture>>, prompts: number[][], options: DecodeOptions) {
  const fromEvents: number[][] = prompts.map(() => []);
  const steps: StepEvent[] = [];
  const result = await decode(model, prompts, {
    ...options,
    onEvent: (e) => {
      if (e.type !== 'step') return;
      steps.push(e);
      fromEvents[e.row].push(...[...e.drafted.slice(0, e.accepted), e.token].slice(0, e.emitted));
    },
  });
  return { result, fromEvents, steps };
}

for (const dir of [TINY, TINY_FUSED, TINY_INT8_TARGET]) {
  test(`drafts 3: a row decoded inside a batch equals the same row decoded alone, and its events rebuild it (${dir.split('/').pop()})`, async () => {
    const model = await fixture(dir);
    const prompts = makePrompts([4, 9, 2, 6, 11], model.vocabSize, 5);
    const seeds = [11, 22, 33, 44, 55];
    // Different caps so rows leave the batch at different steps (their K slots are moved then).
    const maxNewTokens = [24, 9, 17, 30, 5];
    // tiny alone carries the seed prophet (`prophet`).
    for (const strategy of DRAFTING.filter((s) => s !== 'prophet' || dir === TINY)) {
      for (const gamma of [3, 'auto'] as const) {
        const options: DecodeOptions = {
          strategy,
          gamma,
          ...(gamma === 'auto' ? { draftConfidence: 0.3 } : {}),
          drafts: 3,
          temperature: 1,
          topK: 8,
          stopToken: null,
        };
        const label = `${strategy}, gamma ${gamma}`;
        const together = await decodeWithEvents(model, prompts, { ...options, seeds, maxNewTokens });
        for (let r = 0; r < prompts.length; r++) {
          assert.deepEqual(together.fromEvents[r], together.result.rows[r].tokens, `${label}, row ${r}: the events' tokens`);
          assert.equal(together.result.rows[r].tokens.length, maxNewTokens[r], `${label}, row ${r}`);
          const alone = await decode(model, [prompts[r]], { ...options, seeds: [seeds[r]], maxNewTokens: maxNewTokens[r] });
          assert.deepEqual(alone.rows[0], together.result.rows[r], `${label}, row ${r}`);
        }
        // The rows did accept drafts, so the K slots of a row were copied into each other.
        assert.ok(together.result.summary.accepted > 0, label);
      }
    }
  });
}

test('drafts 1 is decoding with one draft per row: the same tokens as leaving drafts out, greedy and sampling', async () => {
  const model = await fixture(TINY);
  const prompts = makePrompts([4, 9, 2], model.vocabSize, 3);
  for (const strategy of DRAFTING) {
    for (const temperature of [0, 1]) {
      const options: DecodeOptions = { strategy, gamma: 3, temperature, seeds: [1, 2, 3], maxNewTokens: 20, stopToken: null };
      const without = await decode(model, prompts, options);
      const one = await decode(model, prompts, { ...options, drafts: 1 });
      assert.deepEqual(one.rows, without.rows, `${strategy}, temperature ${temperature}`);
    }
  }
});

test('more drafts accept more: τ of every drafter grows from 1 to 4 drafts (200 rows)', async () => {
  const model = await fixture(TINY);
  const prompts = makePrompts(
    Array.from({ length: 200 }, (_, i) => 3 + (i % 7)),
    model.vocabSize,
    9,
  );
  for (const strategy of DRAFTING) {
    const tau = async (drafts: number): Promise<number> => {
      const result = await decode(model, prompts, { strategy, gamma: 3, drafts, temperature: 1, seed: 3, maxNewTokens: 16, stopToken: null });
      return result.summary.tokensPerTargetCall;
    };
    const one = await tau(1);
    const four = await tau(4);
    assert.ok(four > one * 1.1, `${strategy}: τ ${four.toFixed(3)} with 4 drafts, ${one.toFixed(3)} with 1`);
  }
});

test('drafts outside 1 to 8, with ar, at temperature 0 or with a custom drafter are refused in one line', async () => {
  const model = await fixture(TINY);
  const prompt = [1, 7, 12, 2];
  const refuse = (promise: Promise<unknown>, pattern: RegExp): Promise<void> =>
    assert.rejects(promise, (e: Error) => e instanceof DecodeOptionError && pattern.test(e.message) && !e.message.includes('\n'));
  const sampled: DecodeOptions = { strategy: 'draft', temperature: 1 };
  await refuse(decode(model, [prompt], { ...sampled, drafts: 0 }), /^drafts = 0 is not allowed: an integer from 1 to 8$/);
  await refuse(decode(model, [prompt], { ...sampled, drafts: 9 }), /^drafts = 9 .*from 1 to 8/);
  await refuse(decode(model, [prompt], { ...sampled, drafts: 2.5 }), /^drafts = 2.5 /);
  await refuse(decode(model, [prompt], { strategy: 'ar', temperature: 1, drafts: 2 }), /^drafts = 2 .*'ar' drafts nothing/);
  await refuse(decode(model, [prompt], { strategy: 'draft', drafts: 3 }), /^drafts = 3 .*temperature 0: greedy drafts are all the same draft/);
  await refuse(decode(model, [prompt], { strategy: 'draft', temperature: 0, drafts: 3 }), /^drafts = 3 .*temperature 0/);
  await refuse(
    decodeWithDrafter(model, [prompt], { temperature: 1, drafts: 2 }, () => {
      throw new Error('not built');
    }),
    /^drafts = 2 .*one sequence per row/,
  );
});

/** One row's used positions of one layer's keys and values: (length, kvDim), whatever the layout. */
function slotContent(cache: KvCache, slot: number, active: number): number[][] {
  const view = cache.pastView(active);
  const [, heads, P, Dh] = cache.layout === 'bnsh' ? view.dims : [0, 1, view.dims[1], view.dims[2]];
  const positions: number[][] = [];
  for (let t = 0; t < cache.lengths[slot]; t++) {
    const vector: number[] = [];
    for (const tensor of [view.keys[1], view.values[1]])
      for (let h = 0; h < heads; h++) for (let i = 0; i < Dh; i++) vector.push(tensor[((slot * heads + h) * P + t) * Dh + i]);
    positions.push(vector);
  }
  return positions;
}

/** Writes `count` positions into `slot` from its length on, each value naming (tag, position, element). */
function writePositions(cache: KvCache, slot: number, count: number, tag: number): void {
  const { headDim, kvDim } = cache;
  const start = cache.lengths[slot];
  const make = (offset: number): Float32Array[] =>
    Array.from({ length: cache.layers }, (_, layer) => {
      const out = new Float32Array(count * kvDim);
      for (let t = 0; t < count; t++)
        for (let e = 0; e < kvDim; e++) {
          // (1, T, kvDim) or (1, heads, T, headDim)
          const index = cache.layout === 'bnsh' ? (Math.floor(e / headDim) * count + t) * headDim + (e % headDim) : t * kvDim + e;
          out[index] = tag * 10_000 + (start + t) * 100 + e + layer / 10 + offset;
        }
      return out;
    });
  cache.append(slot, make(0), make(0.05), 0, count, count);
}

function writeStore(store: PositionStore, id: number, start: number, count: number, tag: number): void {
  const one = new SlotTable([{ id, seq: [], promptLength: 0, maxLength: 0, uniform: () => 0, steps: 0, finishReason: null }]);
  const output = Float32Array.from({ length: count * store.width }, (_, i) => tag * 10_000 + (start + Math.floor(i / store.width)) * 100 + (i % store.width));
  store.storeFed(one, { counts: Int32Array.of(count), starts: Int32Array.of(start), T: count } as FedResult, output);
}

function storeContent(store: PositionStore, id: number, end: number): number[] {
  const out = new Float32Array(end * store.width);
  for (let t = 0; t < end; t++) store.copyTo(id, t, out, t * store.width);
  return Array.from(out);
}

test("SpecTrRows: a row's K slots and store rows start as the row's, and after a step are all the accepted draft's", () => {
  const K = 3;
  const capacity = 24;
  const caches = [new KvCache(2, 4, 2 * K, capacity, 'bsd'), new KvCache(2, 4, 2 * K, capacity, 'bnsh', 2)];
  const store = new PositionStore(3, capacity);
  const rows: RowState[] = [0, 1].map((id) => ({
    id,
    seq: [1, 5, 6, 2, 9 + id, 4].slice(0, 5 + id),
    promptLength: 5 + id,
    maxLength: 16,
    uniform: seededUniform(id),
    steps: 0,
    finishReason: null,
  }));
  const table = new SlotTable(rows);
  // The prefill: every position but the pending one, in the row's own slot.
  for (const [s, row] of rows.entries()) {
    for (const cache of caches) writePositions(cache, s, row.seq.length - 1, 1 + s);
    writeStore(store, row.id, 0, row.seq.length - 1, 1 + s);
  }
  const prefilled = caches.map((cache) => rows.map((_, s) => slotContent(cache, s, rows.length)));
  const spectr = new SpecTrRows({ table, drafts: K, rowCount: rows.length, caches, stores: [store] });
  const active = 2 * K;
  for (const [c, cache] of caches.entries())
    for (let s = 0; s < 2; s++)
      for (let k = 0; k < K; k++) assert.deepEqual(slotContent(cache, s * K + k, active), prefilled[c][s], `cache ${c}, row ${s}, draft ${k}`);
  for (const row of rows)
    for (let k = 1; k < K; k++) assert.deepEqual(storeContent(store, row.id + k * 2, row.seq.length - 1), storeContent(store, row.id, row.seq.length - 1));

  // A step: each draft's slot gets the pending position and its drafts, values unique to the draft.
  spectr.begin();
  const drafts = [[5, 6], [7, 8], [7, 9], /**/ [1], [2, 3], [2, 3]];
  spectr.table.active.forEach((draft, d) => {
    for (const cache of caches) writePositions(cache, d, 1 + drafts[d].length, 100 + d);
    writeStore(store, draft.id, draft.seq.length - 1, 1 + drafts[d].length, 100 + d);
  });
  // Row 0 accepts 7 and continues from its draft 2 (draft 1 holds 7 too); row 1 accepts 2, 3 from draft 1.
  const verdict = { acceptedCounts: Int32Array.of(1, 2), nextTokens: Int32Array.of(4, 4), acceptedDraft: Int32Array.of(2, 1) };
  const committed: Int32Array[] = [];
  const part = {
    caches,
    commit: (t: SlotTable, kept: Int32Array) => {
      committed.push(kept);
      keepAcceptedDrafts(t, kept, caches);
    },
  } as unknown as Target;
  spectr.commit(verdict, drafts, [part, null]);
  assert.deepEqual([...committed[0]], [0, 1, 1, 0, 2, 2], 'each draft keeps what it shares with the accepted tokens');
  for (const [s, row] of rows.entries()) {
    const from = s * K + verdict.acceptedDraft[s];
    const end = row.seq.length + verdict.acceptedCounts[s];
    // The accepted draft's own positions: the prefill's, then those it wrote this step up to the accepted end.
    for (const [c, cache] of caches.entries()) {
      const expected = [...prefilled[c][s], ...slotContent(cache, from, active).slice(row.seq.length - 1)];
      assert.equal(expected.length, end);
      assert.ok(expected.slice(row.seq.length - 1).every((v) => Math.floor(v[0] / 10_000) === 100 + from));
      for (let k = 0; k < K; k++) {
        assert.equal(cache.lengths[s * K + k], end, `cache ${c}, row ${s}, draft ${k}: length`);
        assert.deepEqual(slotContent(cache, s * K + k, active), expected, `cache ${c}, row ${s}, draft ${k}`);
      }
    }
    for (let k = 0; k < K; k++) {
      const id = spectr.table.active[s * K + k].id;
      assert.deepEqual(storeContent(store, id, end), storeContent(store, spectr.table.active[from].id, end), `store, row ${s}, draft ${k}`);
    }
  }

  // Row 0 finishes: row 1's K slots take its place.
  const row1 = caches.map((cache) => slotContent(cache, K + 1, active));
  const ids = spectr.table.active.slice(K).map((r) => r.id);
  spectr.retire(0);
  assert.deepEqual(
    spectr.table.active.map((r) => r.id),
    ids,
  );
  for (const [c, cache] of caches.entries())
    for (let k = 0; k < K; k++) assert.deepEqual(slotContent(cache, k, K), row1[c], `cache ${c}, draft ${k} after retire`);
});
