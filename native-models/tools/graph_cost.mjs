// Cost of one ONNX Runtime session run per graph of a voice: batch 1, PAST cached positions, T new tokens.
//
//   node native-models/tools/graph_cost.mjs [VOICE_DIR] [--past 150] [--threads 1] [--runs 300] [--ops]
//
// A graph with "kv_layout": "bnsh" (native-models/spear_voice/t2s/fused.py) reads a cache buffer of PAST + 64
// positions. Prints µs per run for full at T = 1, 3, 5, 9 (a verification of T - 1 drafts) and for every other
// graph at T = 1 (one drafting step), and each T = 1 graph's cost over full's: the c of docs/results.md.
// A voice's chains (one call for γ drafts of EAGLE or the draft; greedy, then sampled) are timed after the
// graphs, as c per drafted token.
// --ops then runs full under ONNX Runtime's profiler at the same T and prints each operator type's kernel time
// per run: which operators make a verification of more positions cost more. The profiler slows every node
// down, so read the shares and the growth with T, not the µs as a call's cost.
// Measure on an idle machine; figures move by a few per cent from run to run.
import ort from 'onnxruntime-node';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    past: { type: 'string', default: '150' },
    threads: { type: 'string', default: '1' },
    runs: { type: 'string', default: '300' },
    ops: { type: 'boolean', default: false },
  },
});
const dir = positionals[0] ?? 'native-models/voice';
const P = Number(values.past);
const runs = Number(values.runs);
const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const token = BigInt(manifest.vocab.units?.offset ?? manifest.vocab.special.eos + 1);

function feeds(session, entry, T) {
  const f = {};
  const ints = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values), dims);
  for (const name of session.inputNames) {
    if (name === 'input_ids') f[name] = ints(Array(T).fill(token), [1, T]);
    else if (name === 'positions')
      f[name] = ints(
        Array.from({ length: T }, (_, i) => BigInt(P + i)),
        [1, T],
      );
    else if (name === 'past_len') f[name] = ints([BigInt(P)], [1]);
    else if (name === 'hidden_in') f[name] = new ort.Tensor('float32', new Float32Array(T * entry.hidden_dim).fill(0.1), [1, T, entry.hidden_dim]);
    else if (name === 'uniforms') f[name] = new ort.Tensor('float32', new Float32Array(gammaOf(session)).fill(0.5), [1, gammaOf(session)]);
    else if (name === 'tree_mask')
      f[name] = new ort.Tensor(
        'bool',
        Uint8Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 1 : 0)),
        [1, T, T],
      );
    else if (name === 'inv_temperature') f[name] = new ort.Tensor('float32', Float32Array.of(1 / 0.8), [1]);
    else if (entry.kv_layout === 'bnsh') {
      // The engine's buffer, passed whole: capacity for this past and a step of drafts.
      const dims = [1, entry.kv_heads, P + 64, entry.kv_dim / entry.kv_heads];
      f[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)).fill(0.01), dims);
    } else f[name] = new ort.Tensor('float32', new Float32Array(P * entry.kv_dim).fill(0.01), [1, P, entry.kv_dim]);
  }
  return f;
}

/** A sampled chain's gamma: the length of its uniforms input. */
const gammaOf = (session) => session.inputMetadata?.find?.((m) => m.name === 'uniforms')?.shape?.[1] ?? 1;

async function time(session, f) {
  for (let i = 0; i < 30; i++) await session.run(f);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(f);
  return ((performance.now() - t0) / runs) * 1000;
}

let fullStep = 0;
for (const [role, entry] of Object.entries(manifest.graphs)) {
  const session = await ort.InferenceSession.create(path.join(dir, entry.file), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
  });
  for (const T of role === 'full' ? [1, 3, 5, 9] : [1]) {
    const us = await time(session, feeds(session, entry, T));
    if (role === 'full' && T === 1) fullStep = us;
    const ratio = role === 'full' ? `${(us / fullStep).toFixed(2)} of a T=1 step` : `c = ${(us / fullStep).toFixed(3)}`;
    console.log(`${role.padEnd(9)} T=${T}  ${us.toFixed(0).padStart(5)} µs  ${ratio}`);
  }
  await session.release();
}

for (const [drafter, chain] of Object.entries(manifest.chains ?? {})) {
  const kinds = [
    ['', chain.gammas],
    [' sampled', chain.sampled?.gammas ?? {}],
  ];
  for (const [kind, gammas] of kinds)
    for (const [gamma, ref] of Object.entries(gammas)) {
      // Created from the path, ONNX Runtime finds the shared weights file beside the graph.
      const session = await ort.InferenceSession.create(path.join(dir, ref.file), {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: Number(values.threads),
        interOpNumThreads: 1,
      });
      const us = await time(session, feeds(session, chain, 1));
      console.log(
        `${drafter}${kind} chain γ${gamma}  T=1  ${us.toFixed(0).padStart(5)} µs  c = ${(us / Number(gamma) / fullStep).toFixed(3)} per drafted token`,
      );
      await session.release();
    }
}

if (values.ops) await operatorTable(manifest.graphs.full, [1, 3, 5, 9]);

/** full under ONNX Runtime's profiler at each T: kernel µs per run of each operator type, and their sum. */
async function operatorTable(entry, Ts) {
  const columns = [];
  for (const T of Ts) {
    const prefix = `spear-graph-cost-${process.pid}-T${T}`;
    const session = await ort.InferenceSession.create(path.join(dir, entry.file), {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: Number(values.threads),
      interOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: path.join(os.tmpdir(), prefix),
    });
    const f = feeds(session, entry, T);
    for (let i = 0; i < runs; i++) await session.run(f);
    session.endProfiling();
    await session.release();
    const byOp = new Map();
    for (const name of readdirSync(os.tmpdir()).filter((n) => n.startsWith(prefix))) {
      const file = path.join(os.tmpdir(), name);
      for (const e of JSON.parse(readFileSync(file, 'utf8')))
        if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur / runs);
      rmSync(file);
    }
    columns.push(byOp);
  }
  const total = (byOp) => [...byOp.values()].reduce((a, b) => a + b, 0);
  const ops = [...columns.at(-1).keys()].sort((a, b) => columns.at(-1).get(b) - columns.at(-1).get(a));
  const cell = (us) => us.toFixed(0).padStart(7);
  console.log(`\nfull under the profiler, kernel µs per run\n${'operator'.padEnd(34)}${Ts.map((T) => `T=${T}`.padStart(7)).join('')}`);
  for (const op of ops) console.log(`${op.padEnd(34)}${columns.map((c) => cell(c.get(op) ?? 0)).join('')}`);
  console.log(`${'all kernels'.padEnd(34)}${columns.map((c) => cell(total(c))).join('')}`);
}
