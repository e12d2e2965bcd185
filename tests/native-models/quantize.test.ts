/**
 * Int8 drafters (native-models/spear_voice/t2s/quantize.py) on the tiny fixture: the target graphs are the
 * float32 export untouched, each drafter entry names its int8 file and the parity-checked float32 source,
 * and the int8 graphs compute nearly what their sources do in ONNX Runtime. (That the quantiser is
 * reproducible is tests/native-models/test_quantize.py; that int8 drafters leave greedy output exact and
 * sampling lossless is in tests/core/engine/.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { TINY, TINY_INT8 } from '../helpers/fixtures.ts';
import { openParityCases } from '../../native-models/tools/parity-cases.mjs';

const DRAFTERS = ['exit_head', 'draft', 'eagle'] as const;
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

/** Both graphs' logits on the same feeds, the float32 logits' spread and the largest difference. */
async function compareLogits(int8: ort.InferenceSession, fp32: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const a = (await int8.run(feeds)).logits.data as Float32Array;
  const b = (await fp32.run(feeds)).logits.data as Float32Array;
  const mean = b.reduce((s, x) => s + x, 0) / b.length;
  const spread = Math.sqrt(b.reduce((s, x) => s + (x - mean) ** 2, 0) / b.length);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  return { a, b, spread, maxDiff };
}

test('int8 manifest: target graphs untouched, each drafter names its int8 file and its float32 source', () => {
  const plain = manifestOf(TINY);
  const int8 = manifestOf(TINY_INT8);
  for (const role of ['full', 'trunk', 'rest']) {
    assert.deepEqual(int8.graphs[role], plain.graphs[role], `${role} must stay the float32 export`);
  }
  for (const role of [...DRAFTERS, 'medusa']) {
    const entry = int8.graphs[role];
    assert.equal(entry.file, `${role}.int8.onnx`);
    assert.equal(entry.sha256, sha256(path.join(TINY_INT8, entry.file)));
    assert.equal(entry.source.file, `${role}.onnx`);
    assert.equal(entry.source.sha256, plain.graphs[role].sha256, `${role}: the source is the parity-checked export`);
    assert.match(entry.source.quantization, /int8/);
    assert.ok(readFileSync(path.join(TINY_INT8, entry.file)).includes('DynamicQuantizeMatMul'), `${role}: no int8 MatMul in the graph`);
  }
});

test('each int8 drafter computes nearly its float32 source: logits within 10 % of their spread (measured ≤ 8.7 %, EAGLE fed random hidden states), same argmax almost always', async () => {
  const { index, tensor } = openParityCases(path.join(TINY_INT8, 'parity'));
  const manifest = manifestOf(TINY_INT8);
  for (const role of DRAFTERS) {
    const int8 = await ort.InferenceSession.create(path.join(TINY_INT8, manifest.graphs[role].file));
    const fp32 = await ort.InferenceSession.create(path.join(TINY_INT8, manifest.graphs[role].source.file));
    let positions = 0;
    let agree = 0;
    for (const c of index.cases.filter((x) => x.role === role)) {
      const feeds = Object.fromEntries(Object.entries(c.inputs).map(([n, s]) => [n, tensor(s)]));
      const { a, b, spread, maxDiff } = await compareLogits(int8, fp32, feeds);
      assert.ok(maxDiff <= 0.1 * spread, `${role} ${c.case}: max |Δlogit| ${maxDiff.toFixed(4)} > 10 % of the logits' std ${spread.toFixed(3)}`);
      assert.ok(maxDiff > 0, `${role} ${c.case}: the int8 graph gives float32's logits bit for bit; was it quantised?`);
      const V = manifest.vocab.size;
      for (let p = 0; p < a.length / V; p++) {
        const argmax = (x: Float32Array): number => {
          let best = p * V;
          for (let i = p * V; i < (p + 1) * V; i++) if (x[i] > x[best]) best = i;
          return best;
        };
        positions++;
        if (argmax(a) === argmax(b)) agree++;
      }
    }
    assert.ok(positions > 0 && agree / positions >= 0.9, `${role}: argmax agrees at ${agree} of ${positions} positions`);
    await int8.release();
    await fp32.release();
  }
});

test('the int8 medusa heads compute nearly their float32 source on random hidden states, same argmax almost always', async () => {
  const entry = manifestOf(TINY_INT8).graphs.medusa;
  const int8 = await ort.InferenceSession.create(path.join(TINY_INT8, entry.file));
  const fp32 = await ort.InferenceSession.create(path.join(TINY_INT8, entry.source.file));
  const [B, T, D] = [4, 5, entry.hidden_dim];
  let seed = 7;
  const hidden = Float32Array.from({ length: B * T * D }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return 2 * (seed / 2 ** 32 - 0.5) * 1.7; // about the spread of a hidden state after the final norm
  });
  const feeds = { hidden_in: new ort.Tensor('float32', hidden, [B, T, D]) };
  const { a, b, spread, maxDiff } = await compareLogits(int8, fp32, feeds);
  assert.ok(maxDiff > 0 && maxDiff <= 0.1 * spread, `max |Δlogit| ${maxDiff.toFixed(4)} against the logits' std ${spread.toFixed(3)}`);
  const V = manifestOf(TINY_INT8).vocab.size;
  let agree = 0;
  const n = a.length / V;
  for (let p = 0; p < n; p++) {
    const argmax = (x: Float32Array): number => {
      let best = p * V;
      for (let i = p * V; i < (p + 1) * V; i++) if (x[i] > x[best]) best = i;
      return best;
    };
    if (argmax(a) === argmax(b)) agree++;
  }
  assert.ok(agree / n >= 0.9, `argmax agrees at ${agree} of ${n} head positions`);
  await int8.release();
  await fp32.release();
});
