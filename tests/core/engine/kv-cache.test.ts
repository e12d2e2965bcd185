import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GROW_STRIDE, KvCache } from '../../../electron/core/engine/kv-cache.ts';
import type { Graph } from '../../../electron/core/engine/graph.ts';
import { TreeShape } from '../../../electron/core/engine/tree.ts';
import { fixture, makePrompts, TINY, TINY_FUSED, TINY_INT8_TARGET } from '../../helpers/fixtures.ts';

const TOLERANCE = 1e-4;

const maxDiff = (a: readonly number[], b: readonly number[]): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

interface Output {
  logits: number[][][]; // [row][position][V]
  hidden: number[][][]; // [row][position][D]
}

/**
 * Runs `graph` over each row's sequence, `chunks[k]` new tokens per call (the same chunking for all rows,
 * clipped to each row's length), with the cache carried between calls. One chunk of the whole length
 * is the uncached forward. `hiddenIn` supplies hidden_in for graphs that read it.
 */
async function runChunked(graph: Graph, sequences: number[][], chunks: number[], hiddenIn?: number[][][]): Promise<Output> {
  const B = sequences.length;
  const maxLen = Math.max(...sequences.map((s) => s.length));
  const cache = KvCache.forGraph(graph.entry, B, maxLen + 1);
  const out: Output = { logits: sequences.map(() => []), hidden: sequences.map(() => []) };
  let k = 0;
  while (sequences.some((seq, s) => cache.lengths[s] < seq.length)) {
    const chunk = chunks[k++ % chunks.length];
    const starts = Array.from(cache.lengths);
    const counts = sequences.map((seq, s) => Math.min(chunk, seq.length - starts[s]));
    const result = await graph.run(cache, {
      rows: B,
      counts,
      tokenAt: (s, i) => sequences[s][starts[s] + i],
      hiddenAt: hiddenIn ? (s, i, buf, offset) => buf.set(hiddenIn[s][starts[s] + i], offset) : undefined,
    });
    for (let s = 0; s < B; s++) {
      for (let i = 0; i < counts[s]; i++) {
        if (result.logits) {
          const V = result.logits.length / (B * result.T);
          out.logits[s].push(Array.from(result.logits.subarray((s * result.T + i) * V, (s * result.T + i + 1) * V)));
        }
        if (result.hidden) {
          const D = result.hidden.length / (B * result.T);
          out.hidden[s].push(Array.from(result.hidden.subarray((s * result.T + i) * D, (s * result.T + i + 1) * D)));
        }
      }
    }
  }
  return out;
}

function maxAbsDiff(a: number[][][], b: number[][][]): number {
  let m = 0;
  a.forEach((row, s) => row.forEach((vec, t) => vec.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[s][t][i]))))));
  return m;
}

const sequences = (V: number): number[][] => makePrompts([14, 5, 9], V, 7);

for (const [dir, role] of [
  [TINY, 'full'],
  [TINY, 'draft'],
  [TINY, 'layer_skip'],
  [TINY_FUSED, 'full'],
] as const) {
  test(`${role} (${dir.split('/').pop()}): cached incremental logits equal one uncached forward`, async () => {
    const model = await fixture(dir);
    const graph = model.graphs[role]!;
    const seqs = sequences(model.vocabSize);
    const whole = await runChunked(graph, seqs, [1000]);
    for (const chunks of [[1], [3, 1, 2], [5]]) {
      const incremental = await runChunked(graph, seqs, chunks);
      const diff = maxAbsDiff(incremental.logits, whole.logits);
      assert.ok(diff <= TOLERANCE, `chunks ${chunks}: max |Δlogits| ${diff}`);
    }
    // A single row uses the prefix-only past view; it must agree with the batched capacity view.
    const alone = await runChunked(graph, [seqs[0]], [2]);
    assert.ok(maxAbsDiff(alone.logits, [whole.logits[0]]) <= TOLERANCE);
  });
}

for (const dir of [TINY, TINY_FUSED, TINY_INT8_TARGET])
  test(`trunk → rest (${dir.split('/').pop()}), cached incrementally, equals the uncached full forward`, async () => {
    const model = await fixture(dir);
    const seqs = sequences(model.vocabSize);
    const whole = await runChunked(model.graphs.full!, seqs, [1000]);
    for (const chunks of [[1], [2, 3]]) {
      const trunk = await runChunked(model.graphs.trunk!, seqs, chunks);
      const rest = await runChunked(model.graphs.rest!, seqs, chunks, trunk.hidden);
      const diff = maxAbsDiff(rest.logits, whole.logits);
      assert.ok(diff <= TOLERANCE, `chunks ${chunks}: max |Δlogits| ${diff}`);
    }
  });

for (const dir of [TINY, TINY_FUSED])
  test(`garbage past the valid length is ignored, and truncate/moveSlot keep rows intact (${dir.split('/').pop()})`, async () => {
    const model = await fixture(dir);
    const graph = model.graphs.full!;
    const seqs = sequences(model.vocabSize);
    const whole = await runChunked(graph, seqs, [1000]);
    const cache = KvCache.forGraph(graph.entry, 3, 32);
    for (const k of cache.keys) k.fill(1e3);
    for (const v of cache.values) v.fill(-1e3);
    // Feed row 1 fully and row 0 with 4 tokens, then "reject" 2 of row 0 and feed them again.
    await graph.run(cache, { rows: 3, counts: [4, seqs[1].length - 1, 0], tokenAt: (s, i) => seqs[s][i] });
    cache.truncate(0, 2);
    const r = await graph.run(cache, { rows: 3, counts: [3, 0, 0], tokenAt: (_s, i) => seqs[0][2 + i] });
    const V = model.vocabSize;
    const got = Array.from(r.logits!.subarray(2 * V, 3 * V));
    assert.ok(Math.max(...got.map((v, i) => Math.abs(v - whole.logits[0][4][i]))) <= TOLERANCE);
    // Retire slot 0: slot 1 (row 1) moves into it and must still continue correctly.
    cache.moveSlot(1, 0);
    assert.equal(cache.lengths[0], seqs[1].length - 1);
    assert.equal(cache.lengths[1], 0);
    const last = seqs[1].length - 1;
    const moved = await graph.run(cache, { rows: 1, counts: [1], tokenAt: () => seqs[1][last] });
    const expected = whole.logits[1][last];
    assert.ok(Math.max(...Array.from(moved.logits!, (v, i) => Math.abs(v - expected[i]))) <= TOLERANCE);
  });

test('pastView: one row is a view of its prefix; several rows are gathered to the longest row, or the whole block at capacity', () => {
  const kvDim = 2;
  const cache = new KvCache(2, kvDim, 3, 6);
  const fill = (slot: number, count: number, base: number): void => {
    const keys = [0, 1].map((layer) => Float32Array.from({ length: count * kvDim }, (_, i) => base + 100 * layer + i));
    const values = keys.map((k) => k.map((x) => -x));
    cache.append(slot, keys, values, 0, count, count);
  };
  fill(0, 2, 10);
  fill(1, 4, 20);
  fill(2, 1, 30);
  const one = cache.pastView(1);
  assert.equal(one.pastLength, 2);
  assert.equal(one.keys[1].buffer, cache.keys[1].buffer, 'one row: a view, nothing copied');
  assert.deepEqual(Array.from(one.keys[1]), [110, 111, 112, 113]);

  const three = cache.pastView(3);
  assert.equal(three.pastLength, 4);
  for (const layer of [0, 1]) {
    const k = three.keys[layer];
    assert.equal(k.length, 3 * 4 * kvDim);
    for (const [slot, count, base] of [
      [0, 2, 10],
      [1, 4, 20],
      [2, 1, 30],
    ]) {
      const row = Array.from(k.subarray(slot * 4 * kvDim, slot * 4 * kvDim + count * kvDim));
      assert.deepEqual(
        row,
        Array.from({ length: count * kvDim }, (_, i) => base + 100 * layer + i),
        `layer ${layer} slot ${slot}`,
      );
      assert.deepEqual(
        Array.from(three.values[layer].subarray(slot * 4 * kvDim, slot * 4 * kvDim + count * kvDim)),
        row.map((x) => -x),
      );
    }
  }

  fill(1, 2, 40); // slot 1 now holds the whole capacity: the block is passed as it is
  const full = cache.pastView(3);
  assert.equal(full.pastLength, 6);
  assert.equal(full.keys[0].buffer, cache.keys[0].buffer);
  assert.equal(full.keys[0].length, 3 * 6 * kvDim);
});

test('bnsh: every call passes the active slots whole without a copy; append writes each head and grows the stride; moveSlot moves each head', () => {
  const heads = 2;
  const headDim = 3;
  const cache = new KvCache(1, heads * headDim, 3, 100, 'bnsh', heads);
  assert.deepEqual(cache.pastView(1).dims, [1, heads, 0, headDim], 'nothing laid out before the first append');
  // `count` new tokens of batch row 1 in a (B = 2, H, T = count, Dh) output: value = 1000·head + 10·(first + token) + i.
  const append = (slot: number, first: number, count: number): void => {
    const out = new Float32Array(2 * heads * count * headDim);
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < count; t++) for (let i = 0; i < headDim; i++) out[((1 * heads + h) * count + t) * headDim + i] = 1000 * h + 10 * (first + t) + i;
    cache.append(slot, [out], [out.map((x) => -x)], 1, count, count);
  };
  const at = (slot: number, h: number, pos: number): number[] => {
    const { keys, dims } = cache.pastView(3);
    const o = ((slot * heads + h) * dims[2] + pos) * headDim;
    return Array.from(keys[0].subarray(o, o + headDim));
  };
  append(1, 0, 2);
  assert.equal(cache.lengths[1], 2);
  assert.deepEqual(cache.pastView(2).dims, [2, heads, GROW_STRIDE, headDim]);
  assert.deepEqual(at(1, 0, 1), [10, 11, 12]);
  assert.deepEqual(at(1, 1, 0), [1000, 1001, 1002]);
  append(1, 2, GROW_STRIDE);
  assert.deepEqual(cache.pastView(1).dims[2], 2 * GROW_STRIDE, 'the stride grew, the data moved with it');
  assert.deepEqual(at(1, 1, 1), [1010, 1011, 1012]);
  assert.deepEqual(at(1, 1, GROW_STRIDE + 1), [1000 + 10 * (GROW_STRIDE + 1), 1001 + 10 * (GROW_STRIDE + 1), 1002 + 10 * (GROW_STRIDE + 1)]);
  const view = cache.pastView(2);
  assert.equal(view.keys[0].buffer, cache.keys[0].buffer, 'several rows: a view, nothing copied');
  assert.equal(view.keys[0].length, 2 * heads * 2 * GROW_STRIDE * headDim);
  cache.moveSlot(1, 0);
  assert.equal(cache.lengths[0], GROW_STRIDE + 2);
  assert.equal(cache.lengths[1], 0);
  assert.deepEqual(at(0, 1, 1), [1010, 1011, 1012]);
  const o = (0 * heads + 0) * 2 * GROW_STRIDE * headDim;
  assert.deepEqual(Array.from(cache.values[0].subarray(o, o + headDim)), [-0, -1, -2]);
});

test('keepPath moves a verified tree path into consecutive positions in either layout, and refuses a node out of order', () => {
  for (const layout of ['bsd', 'bnsh'] as const) {
    const heads = 2;
    const headDim = 3;
    const cache = new KvCache(2, heads * headDim, 2, 40, layout, layout === 'bnsh' ? heads : 1);
    // Slot 1 holds 4 committed positions and a tree of 8 nodes fed after them (root at 4): value = 100·layer + 10·position + lane.
    const T = 12;
    const kv = heads * headDim;
    const lane = (pos: number, h: number, i: number): number => 10 * pos + h * headDim + i;
    const make = (layer: number): Float32Array => {
      const out = new Float32Array(2 * T * kv); // batch row 1 of 2
      for (let pos = 0; pos < T; pos++)
        for (let h = 0; h < heads; h++)
          for (let i = 0; i < headDim; i++) {
            const at = layout === 'bnsh' ? ((1 * heads + h) * T + pos) * headDim + i : (1 * T + pos) * kv + h * headDim + i;
            out[at] = 100 * layer + lane(pos, h, i);
          }
      return out;
    };
    const keys = [make(0), make(1)];
    cache.append(
      1,
      keys,
      keys.map((k) => k.map((x) => -x)),
      1,
      T,
      T,
    );
    cache.keepPath(1, 4, [0, 2, 5, 7]);
    assert.equal(cache.lengths[1], 8);
    const { keys: past, values, dims } = cache.pastView(2);
    const read = (data: Float32Array, layer: number, pos: number): number[] => {
      const out: number[] = [];
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < headDim; i++) {
          const at = layout === 'bnsh' ? ((1 * heads + h) * dims[2] + pos) * headDim + i : (1 * dims[1] + pos) * kv + h * headDim + i;
          out.push(data[at] - 100 * layer);
        }
      return out;
    };
    const expected = (pos: number): number[] => Array.from({ length: kv }, (_, j) => lane(pos, Math.floor(j / headDim), j % headDim));
    // Positions 0 … 4 untouched; then the nodes 2, 5, 7 (at 6, 9, 11 before).
    [0, 1, 2, 3, 4, 6, 9, 11].forEach((source, pos) => {
      for (const layer of [0, 1]) assert.deepEqual(read(past[layer], layer, pos), expected(source), `${layout}: layer ${layer}, position ${pos}`);
    });
    assert.deepEqual(
      read(values[1], 0, 6).map((x) => -x - 100),
      expected(9),
      `${layout}: values move with keys`,
    );
    assert.throws(() => cache.keepPath(1, 4, [0, 0]), RangeError);
    assert.throws(() => cache.keepPath(1, 4, [0, 1, 2, 3, 4]), RangeError, 'past the slot length');
  }
});

test('a draft tree scored in one call: each node sees its ancestors only, and the kept path continues as if fed alone (tiny-fused)', async () => {
  const model = await fixture(TINY_FUSED);
  const graph = model.graphs.full!;
  const V = model.vocabSize;
  const prompt = makePrompts([6], V, 1)[0];
  const tree = new TreeShape([3, 2]); // 1 + 3 + 6 nodes
  const tokens = Array.from({ length: tree.size }, (_, n) => (n === 0 ? prompt[prompt.length - 1] : 4 + ((n * 5) % (V - 4))));
  const ancestry = (n: number): number[] => (n === 0 ? [0] : [...ancestry(tree.parents[n]), n]);
  // The tree after the prompt's first tokens, in one call.
  const cache = KvCache.forGraph(graph.entry, 1, 64);
  await graph.run(cache, { rows: 1, counts: [prompt.length - 1], tokenAt: (_s, i) => prompt[i] });
  const start = cache.lengths[0];
  const scored = await graph.run(cache, { rows: 1, counts: [tree.size], tokenAt: (_s, i) => tokens[i], trees: [tree] });
  // Each node against the chain of its ancestors fed uncached.
  for (let n = 0; n < tree.size; n++) {
    const sequence = [...prompt.slice(0, -1), ...ancestry(n).map((a) => tokens[a])];
    const alone = await runChunked(graph, [sequence], [sequence.length]);
    const got = Array.from(scored.logits!.subarray(n * V, (n + 1) * V));
    assert.ok(maxDiff(got, alone.logits[0][sequence.length - 1]) < TOLERANCE, `node ${n}`);
  }
  // Keep the path to node 8 (depth 2), then feed one token more: as if the path had been fed as a chain.
  const path = ancestry(8);
  cache.keepPath(0, start, path);
  const next = 7;
  const after = await graph.run(cache, { rows: 1, counts: [1], tokenAt: () => next });
  const sequence = [...prompt.slice(0, -1), ...path.map((a) => tokens[a]), next];
  const alone = await runChunked(graph, [sequence], [sequence.length]);
  assert.ok(maxDiff(Array.from(after.logits!), alone.logits[0][sequence.length - 1]) < TOLERANCE, 'the kept path is the cache of its chain');
});
