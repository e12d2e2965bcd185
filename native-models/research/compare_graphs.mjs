// Two graphs of the same role (an exported graph and a rewrite of it, rewrite_graph.py) on the
// same random feeds: how far their outputs are apart, how often their argmax differs, what a run costs.
// For measuring only (docs/results.md).
//
//   node native-models/research/compare_graphs.mjs A.onnx B.onnx [--past 150] [--runs 500] [--width 256]
//
// Also, for each graph: does a position's output depend on the other positions fed in the same call?
// (Position 0 fed alone against fed with 5 more, 50 random feeds.) Verification feeds γ + 1 positions
// where ar feeds one, so a verifier must not depend on them: greedy exactness.
import ort from 'onnxruntime-node';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { past: { type: 'string', default: '150' }, runs: { type: 'string', default: '500' }, width: { type: 'string', default: '256' } },
});
if (positionals.length !== 2) throw new Error('usage: compare_graphs.mjs A.onnx B.onnx [--past N] [--runs N] [--width D]');
const P = Number(values.past);
const D = Number(values.width);
const options = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
const graphs = await Promise.all(positionals.map((file) => ort.InferenceSession.create(file, options)));

let seed = 1;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const ints = (v, dims) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), dims);
const floats = (n, dims) => new ort.Tensor('float32', Float32Array.from({ length: n }, random), dims);

/** Random feeds: `tokens` new units after `past` random cached positions. */
function feeds(session, tokens, past) {
  const T = tokens.length;
  const f = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') f[name] = ints(tokens, [1, T]);
    else if (name === 'positions')
      f[name] = ints(
        tokens.map((_, i) => past + i),
        [1, T],
      );
    else if (name === 'past_len') f[name] = ints([past], [1]);
    else if (name === 'hidden_in') f[name] = floats(T * D, [1, T, D]);
    else f[name] = floats(past * D, [1, past, D]);
  }
  return f;
}
const units = (n) => Array.from({ length: n }, () => 78 + Math.floor((random() + 0.5) * 1024));

function argmax(data, offset, size) {
  let best = 0;
  for (let i = 1; i < size; i++) if (data[offset + i] > data[offset + best]) best = i;
  return best;
}

console.log('outputs, A against B:');
for (const T of [1, 3]) {
  for (const past of [0, 5, P]) {
    const f = feeds(graphs[0], units(T), past);
    const [a, b] = await Promise.all(graphs.map((g) => g.run(f)));
    let worst = 0;
    for (const name of graphs[0].outputNames)
      for (let i = 0; i < a[name].data.length; i++) worst = Math.max(worst, Math.abs(a[name].data[i] - b[name].data[i]));
    const V = a.logits.dims[2];
    let flips = 0;
    for (let t = 0; t < T; t++) if (argmax(a.logits.data, t * V, V) !== argmax(b.logits.data, t * V, V)) flips++;
    console.log(`  T=${T} past=${past}: max |A - B| ${worst.toExponential(2)}, argmax differs at ${flips} of ${T} positions`);
  }
}

console.log('position 0 fed alone against fed with 5 more (50 random feeds):');
for (const [k, g] of graphs.entries()) {
  let worst = 0;
  let flips = 0;
  for (let t = 0; t < 50; t++) {
    const tokens = units(6);
    const f6 = feeds(g, tokens, P);
    const f1 = { ...f6, input_ids: ints(tokens.slice(0, 1), [1, 1]), positions: ints([P], [1, 1]) };
    if (f6.hidden_in) f1.hidden_in = new ort.Tensor('float32', f6.hidden_in.data.slice(0, D), [1, 1, D]);
    const [one, six] = [(await g.run(f1)).logits.data, (await g.run(f6)).logits.data];
    const V = one.length;
    for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(one[i] - six[i]));
    if (argmax(one, 0, V) !== argmax(six, 0, V)) flips++;
  }
  console.log(`  ${positionals[k]}: max |Δ logit| ${worst.toExponential(2)}, argmax differs in ${flips} of 50`);
}

async function cost(session, f) {
  for (let i = 0; i < 50; i++) await session.run(f);
  const t0 = performance.now();
  for (let i = 0; i < Number(values.runs); i++) await session.run(f);
  return ((performance.now() - t0) / Number(values.runs)) * 1000;
}
console.log(`µs per run, ${P} cached positions (two interleaved passes):`);
for (const T of [1, 4]) {
  const f = feeds(graphs[0], units(T), P);
  for (let pass = 0; pass < 2; pass++) {
    const us = [];
    for (const g of graphs) us.push(await cost(g, f));
    console.log(`  T=${T}: A ${us[0].toFixed(0)}, B ${us[1].toFixed(0)}`);
  }
}
