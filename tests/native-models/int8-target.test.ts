/**
 * The int8 target (native-models/spear_voice/t2s/fused.py --int8): 8-bit weight products that quantise
 * their activations, and GroupQueryAttention. Quantising activations turns float rounding noise into
 * steps of 1/127, so greedy speculation equals `ar` only if a position's outputs never depend on how many
 * positions a call feeds with it. These tests show that they do not, from 2 positions on; that 1 position
 * alone computes differently (why the manifest says "min_tokens": 2); that `full` is `trunk` → `rest` bit
 * for bit; and that a manifest's call limits are checked. Greedy equality of every strategy, batches and
 * the sampled law on this target are in tests/core/engine/ (the TINY_INT8_TARGET rows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { joinSamples } from '../../electron/core/audio/samples.ts';
import { ModelLoadError } from '../../electron/core/errors.ts';
import { decode } from '../../electron/core/engine/decode.ts';
import { loadModel } from '../../electron/core/engine/model.ts';
import { TINY_INT8_TARGET, withCopy } from '../helpers/fixtures.ts';

const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const ints = (values: ArrayLike<number>, dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(Array.from(values), BigInt), dims);

/** (B, T, T) bool, t' <= t. */
function causal(T: number): ort.Tensor {
  const mask = new Uint8Array(T * T);
  for (let t = 0; t < T; t++) mask.fill(1, t * T, t * T + t + 1);
  return new ort.Tensor('bool', mask, [1, T, T]);
}

/**
 * One row's cache in the "bnsh" layout and a graph fed through it: each call passes the whole buffer as the
 * past and writes the new keys/values in at the row's length, as the engine does.
 */
class Row {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  length = 0;
  constructor(
    readonly session: ort.InferenceSession,
    readonly layers: number,
    readonly heads: number,
    readonly headDim: number,
    readonly capacity: number,
  ) {
    this.keys = Array.from({ length: layers }, () => new Float32Array(heads * capacity * headDim));
    this.values = Array.from({ length: layers }, () => new Float32Array(heads * capacity * headDim));
  }

  /** Feeds `count` new positions (tokens, or hidden vectors of width D), returns the graph's outputs. */
  async feed(input: { tokens?: number[]; hidden?: Float32Array; count: number }): Promise<ort.InferenceSession.OnnxValueMapType> {
    const T = input.count;
    const feeds: Record<string, ort.Tensor> = {
      positions: ints(
        Array.from({ length: T }, (_, i) => this.length + i),
        [1, T],
      ),
      past_len: ints([this.length], [1]),
    };
    if (input.tokens) feeds.input_ids = ints(input.tokens, [1, T]);
    if (input.hidden) feeds.hidden_in = new ort.Tensor('float32', input.hidden, [1, T, input.hidden.length / T]);
    if (this.session.inputNames.includes('tree_mask')) feeds.tree_mask = causal(T);
    const dims = [1, this.heads, this.capacity, this.headDim];
    for (let l = 0; l < this.layers; l++) {
      feeds[`past_key_${l}`] = new ort.Tensor('float32', this.keys[l], dims);
      feeds[`past_value_${l}`] = new ort.Tensor('float32', this.values[l], dims);
    }
    const out = await this.session.run(feeds);
    const Dh = this.headDim;
    for (let l = 0; l < this.layers; l++)
      for (let h = 0; h < this.heads; h++) {
        const at = (h * this.capacity + this.length) * Dh;
        this.keys[l].set((out[`new_key_${l}`].data as Float32Array).subarray(h * T * Dh, (h + 1) * T * Dh), at);
        this.values[l].set((out[`new_value_${l}`].data as Float32Array).subarray(h * T * Dh, (h + 1) * T * Dh), at);
      }
    this.length += T;
    return out;
  }
}

async function rowOf(dir: string, role: 'full' | 'trunk' | 'rest', capacity: number): Promise<Row> {
  const entry = manifestOf(dir).graphs[role];
  const session = await ort.InferenceSession.create(path.join(dir, entry.file), { intraOpNumThreads: 1 });
  return new Row(session, entry.cache_layers, entry.kv_heads, entry.kv_dim / entry.kv_heads, capacity);
}

const PROMPT = 9;
/** The prompt, then 60 positions: calls of 2, 3, 5 or 8 never leave one position alone at the end. */
const TOKENS = (() => {
  const vocab = manifestOf(TINY_INT8_TARGET).vocab.size;
  let seed = 11;
  return Array.from({ length: PROMPT + 60 }, () => 4 + ((seed = (seed * 1103515245 + 12345) % 2147483648) % (vocab - 4)));
})();

/** `full`'s logits at every position after the prompt, the positions fed `chunk` at a time. */
async function logitsInChunks(chunk: number): Promise<Float32Array> {
  const row = await rowOf(TINY_INT8_TARGET, 'full', 128);
  await row.feed({ tokens: TOKENS.slice(0, PROMPT), count: PROMPT });
  const parts: Float32Array[] = [];
  for (let i = PROMPT; i < TOKENS.length; i += chunk) {
    const tokens = TOKENS.slice(i, i + chunk);
    parts.push((await row.feed({ tokens, count: tokens.length })).logits.data as Float32Array);
  }
  await row.session.release();
  return joinSamples(parts);
}

const sameBits = (a: Float32Array, b: Float32Array): boolean => {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

test('the int8 target: a position’s logits are the same bit for bit whether 2, 3, 5 or 8 positions are fed with it; 1 alone differs', async () => {
  const byTwo = await logitsInChunks(2);
  for (const chunk of [3, 5, 8]) assert.ok(sameBits(await logitsInChunks(chunk), byTwo), `chunks of ${chunk} against chunks of 2`);
  // One position per call takes ONNX Runtime's one-row kernels: other bits, which the engine never sees
  // because it pads such calls to the entry's min_tokens.
  assert.ok(!sameBits(await logitsInChunks(1), byTwo), 'one position per call should compute differently (else min_tokens is not needed)');
});

test('the int8 target: full computes what trunk → rest computes, bit for bit', async () => {
  const m = manifestOf(TINY_INT8_TARGET);
  const [full, trunk, rest] = await Promise.all([
    rowOf(TINY_INT8_TARGET, 'full', 128),
    rowOf(TINY_INT8_TARGET, 'trunk', 128),
    rowOf(TINY_INT8_TARGET, 'rest', 128),
  ]);
  for (const chunk of [PROMPT, 2, 4, 3, 2, 6]) {
    const tokens = TOKENS.slice(full.length, full.length + chunk);
    const a = await full.feed({ tokens, count: chunk });
    const hidden = (await trunk.feed({ tokens, count: chunk })).hidden_out.data as Float32Array;
    assert.equal(hidden.length, chunk * m.graphs.rest.hidden_dim);
    const b = await rest.feed({ hidden, count: chunk });
    assert.ok(sameBits(a.logits.data as Float32Array, b.logits.data as Float32Array), `logits, ${chunk} positions at ${full.length - chunk}`);
    assert.ok(sameBits(a.hidden_out.data as Float32Array, b.hidden_out.data as Float32Array), `hidden_out, ${chunk} positions`);
  }
  await Promise.all([full, trunk, rest].map((r) => r.session.release()));
});

test('a manifest whose min_tokens or rows_per_call is not a positive integer is refused at load', async () => {
  for (const [key, value] of [
    ['min_tokens', 0],
    ['rows_per_call', 1.5],
    ['min_tokens', '2'],
  ] as const) {
    await withCopy(TINY_INT8_TARGET, async (dir) => {
      const m = manifestOf(dir);
      m.graphs.rest[key] = value;
      writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
      await assert.rejects(loadModel(dir), (error: Error) => {
        assert.ok(error instanceof ModelLoadError);
        assert.ok(error.message.includes(`graph "rest" has "${key}" ${JSON.stringify(value)}: a positive integer or absent`), error.message);
        return true;
      });
    });
  }
});

test('the model loads the target it is asked for; an unknown target is a one-line error naming the known ones', async () => {
  const own = await loadModel(TINY_INT8_TARGET, { roles: ['full', 'trunk', 'rest'] });
  const float = await loadModel(TINY_INT8_TARGET, { roles: ['full', 'trunk', 'rest'], target: 'float32' });
  try {
    assert.equal(own.manifest.target, 'int8');
    assert.equal(own.graphs.full?.entry.file, 'full.int8.onnx');
    assert.equal(own.graphs.full?.entry.min_tokens, 2);
    assert.equal(float.manifest.target, 'float32');
    for (const role of ['full', 'trunk', 'rest'] as const) {
      assert.equal(float.graphs[role]?.entry.file, `${role}.fused.onnx`);
      assert.equal(float.graphs[role]?.entry.min_tokens, undefined);
    }
  } finally {
    await own.release();
    await float.release();
  }
  await assert.rejects(loadModel(TINY_INT8_TARGET, { target: 'int4' }), (error: Error) => {
    assert.ok(error instanceof ModelLoadError);
    assert.match(error.message, /has no target "int4" \(known: int8, float32\)/);
    assert.equal(error.message.split('\n').length, 1);
    return true;
  });
});

test('the shipped voice: on its int8 target every strategy emits the units ar emits, one sentence and three at once', async () => {
  const voice = path.resolve(TINY_INT8_TARGET, '../../../native-models/voice');
  const model = await loadModel(voice);
  try {
    assert.equal(model.manifest.target, 'int8');
    const { phonemes, special } = model.manifest.vocab;
    // Phoneme prompts as the voice reads them: bos, phonemes, sep.
    const prompts = [23, 41, 12].map((n, r) => [
      special.bos,
      ...Array.from({ length: n }, (_, i) => phonemes!.offset + ((i * 7 + r * 13) % phonemes!.count)),
      special.sep,
    ]);
    for (const rows of [prompts.slice(0, 1), prompts]) {
      const options = { maxNewTokens: 80, stopToken: model.manifest.stop_token };
      const ar = await decode(model, rows, { ...options, strategy: 'ar' });
      for (const [strategy, gamma] of [
        ['eagle', 4],
        ['draft', 3],
        ['early-exit', 3],
        ['prophet', 2],
        ['medusa', 2],
      ] as const) {
        const spec = await decode(model, rows, { ...options, strategy, gamma });
        assert.deepEqual(spec.rows, ar.rows, `${strategy} γ ${gamma}, ${rows.length} rows`);
      }
    }
  } finally {
    await model.release();
  }
});
