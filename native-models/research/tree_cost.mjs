// What a verifying call costs by the number of positions it scores, and what a tree verification
// (research/rewrite_graph.py tree) costs and computes (docs/results.md).
//
//   /usr/bin/python3 native-models/research/rewrite_graph.py tree native-models/voice/full.onnx /tmp/full_tree.onnx
//   node native-models/research/tree_cost.mjs [VOICE_DIR] /tmp/full_tree.onnx [--past 150] [--runs 300]
//
// Prints: `full` at T = 1 … 12 new positions (over T = 1), two interleaved rounds; the tree graph with a
// causal mask against `full` (must be 0: the same graph); each leaf's logits against `full` fed the chain
// that ends in that leaf; and chains of 5 drafts plus 1 … 5 leaves.
// Batch 1, one intra-op thread, PAST cached positions of random keys and values. Measure on an idle machine.
import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { past: { type: 'string', default: '150' }, runs: { type: 'string', default: '300' } },
});
const [dir = 'native-models/voice', treePath] = positionals;
if (!treePath) throw new Error('usage: tree_cost.mjs VOICE_DIR TREE.onnx (make it with rewrite_graph.py tree)');
const P = Number(values.past);
const runs = Number(values.runs);
const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const {
  n_layers: layers,
  vocab: { size: V },
} = manifest;
const kv = manifest.graphs.full.kv_dim;
const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
// The exported graph (a fused `full` names it as its source): the tree graph is rewritten from it.
const full = await ort.InferenceSession.create(path.join(dir, manifest.graphs.full.source?.file ?? manifest.graphs.full.file), opts);
const tree = await ort.InferenceSession.create(treePath, opts);

let seed = 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
const past = Array.from({ length: 2 * layers }, () => Float32Array.from({ length: P * kv }, random));
const unit = manifest.vocab.units?.offset ?? 4;
const ids = (T) => Array.from({ length: T }, (_, i) => unit + 37 * i);
const chainPositions = (T) => Array.from({ length: T }, (_, i) => P + i);
const int64 = (xs, dims) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);

function feeds(tokens, positions, mask) {
  const T = tokens.length;
  const f = { input_ids: int64(tokens, [1, T]), positions: int64(positions, [1, T]), past_len: int64([P], [1]) };
  for (let i = 0; i < layers; i++) {
    f[`past_key_${i}`] = new ort.Tensor('float32', past[2 * i], [1, P, kv]);
    f[`past_value_${i}`] = new ort.Tensor('float32', past[2 * i + 1], [1, P, kv]);
  }
  if (mask) f.tree_mask = new ort.Tensor('bool', Uint8Array.from(mask), [1, T, T]);
  return f;
}

/** The pending token, a chain of gamma drafts, then one leaf per entry of `depths` (1-based depth). */
function treeInputs(gamma, depths) {
  const T = 1 + gamma + depths.length;
  const mask = new Array(T * T).fill(0);
  for (let t = 0; t <= gamma; t++) for (let u = 0; u <= t; u++) mask[t * T + u] = 1;
  depths.forEach((depth, k) => {
    const t = 1 + gamma + k;
    for (let u = 0; u < depth; u++) mask[t * T + u] = 1; // the pending token and drafts 1 … depth-1
    mask[t * T + t] = 1;
  });
  return { tokens: ids(T), positions: [...chainPositions(1 + gamma), ...depths.map((d) => P + d)], mask };
}

const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
for (const T of [1, 6]) {
  const causal = Array.from({ length: T * T }, (_, k) => (k % T <= Math.floor(k / T) ? 1 : 0));
  const a = await full.run(feeds(ids(T), chainPositions(T)));
  const b = await tree.run(feeds(ids(T), chainPositions(T), causal));
  console.log(`T = ${T}, causal tree_mask: max |tree − full| over every output ${Math.max(...full.outputNames.map((n) => maxDiff(a[n].data, b[n].data)))}`);
}
{
  const gamma = 5;
  const t = treeInputs(gamma, [1, 2, 3, 4, 5]);
  const out = await tree.run(feeds(t.tokens, t.positions, t.mask));
  let worst = 0;
  for (let d = 1; d <= gamma; d++) {
    const chain = [...t.tokens.slice(0, d), t.tokens[gamma + d]]; // pending, drafts 1 … d-1, the leaf at depth d
    const ref = await full.run(feeds(chain, chainPositions(d + 1)));
    worst = Math.max(worst, maxDiff(ref.logits.data.subarray(d * V, (d + 1) * V), out.logits.data.subarray((gamma + d) * V, (gamma + d + 1) * V)));
  }
  console.log(`leaves at depths 1 … 5: max |leaf logits − full's on the chain ending in the leaf| ${worst}`);
}

async function time(session, f) {
  for (let i = 0; i < 30; i++) await session.run(f);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(f);
  return ((performance.now() - t0) / runs) * 1000;
}
for (let round = 1; round <= 2; round++) {
  const curve = [];
  for (let T = 1; T <= 12; T++) curve.push(await time(full, feeds(ids(T), chainPositions(T))));
  console.log(`round ${round}: full T = 1: ${curve[0].toFixed(0)} µs; T = 1 … 12 over T = 1: ${curve.map((us) => (us / curve[0]).toFixed(2)).join(' ')}`);
  const trees = [];
  for (const depths of [[], [5], [4, 5], [3, 4, 5], [1, 2, 3, 4, 5]]) {
    const t = treeInputs(5, depths);
    trees.push(`+${depths.length} ${((await time(tree, feeds(t.tokens, t.positions, t.mask))) / curve[0]).toFixed(2)}`);
  }
  console.log(`round ${round}: tree, γ 5 chain + leaves, over full T = 1: ${trees.join(' ')}`);
}
