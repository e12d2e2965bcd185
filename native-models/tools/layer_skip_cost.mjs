// CPU time of one session run of each graph of a job file, for the layer-skip search
// (native-models/spear_voice/t2s/layer_skip_search.py writes the job and reads the answer).
//
//   node native-models/tools/layer_skip_cost.mjs JOB.json
//
// JOB.json: {"past": 150, "rounds": 12, "burst": 20, "graphs": [{"name", "file", "kv_heads", "kv_dim", "T"}]}:
// fused ("bnsh") graphs with input_ids, batch 1, `past` cached positions in a buffer of past + 64, T new
// tokens. Every graph runs `burst` times per round, in a rotating order, for `rounds` rounds after one
// warm-up round, all in this process with one intra-op thread; each burst is timed by the process's CPU
// time (steadier than the wall clock on a shared machine). Prints {"name": µs per run, the median burst}.
import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const jobFile = process.argv[2];
if (!jobFile) {
  console.error('usage: node native-models/tools/layer_skip_cost.mjs JOB.json');
  process.exit(2);
}
const job = JSON.parse(readFileSync(jobFile, 'utf8'));
const P = job.past;
const ints = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

const runs = [];
for (const g of job.graphs) {
  const session = await ort.InferenceSession.create(path.resolve(path.dirname(jobFile), g.file), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const feeds = {};
  const dims = [1, g.kv_heads, P + 64, g.kv_dim / g.kv_heads];
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = ints(Array(g.T).fill(job.token ?? 4), [1, g.T]);
    else if (name === 'positions')
      feeds[name] = ints(
        Array.from({ length: g.T }, (_, i) => P + i),
        [1, g.T],
      );
    else if (name === 'past_len') feeds[name] = ints([P], [1]);
    else if (name === 'tree_mask')
      // The fused `full`'s: the causal mask, a chain's.
      feeds[name] = new ort.Tensor(
        'bool',
        Uint8Array.from({ length: g.T * g.T }, (_, i) => (i % g.T <= Math.floor(i / g.T) ? 1 : 0)),
        [1, g.T, g.T],
      );
    else feeds[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)).fill(0.01), dims);
  }
  runs.push({ name: g.name, session, feeds, samples: [] });
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
for (let round = 0; round <= job.rounds; round++) {
  for (let k = 0; k < runs.length; k++) {
    const r = runs[(k + round) % runs.length];
    const t0 = cpuUs();
    for (let i = 0; i < job.burst; i++) await r.session.run(r.feeds);
    if (round > 0) r.samples.push((cpuUs() - t0) / job.burst);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify(Object.fromEntries(runs.map((r) => [r.name, Math.round(median(r.samples))]))));
for (const r of runs) await r.session.release();
