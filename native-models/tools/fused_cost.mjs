// The fused target graphs (native-models/spear_voice/t2s/fused.py) against the exported full graph: parity, then cost.
//
//   PYTHONPATH=native-models python3 -m spear_voice.t2s.fused native-models/voice --out /tmp/fused   # or in place
//   node native-models/tools/fused_cost.mjs VOICE_DIR FUSED_DIR… [--past 150] [--capacity N] [--rounds 60] [--runs 10] [--clock cpu]
//   node native-models/tools/fused_cost.mjs native-models/voice native-models/voice#float32 native-models/voice --no-parity   # a voice's two targets
//   node native-models/tools/fused_cost.mjs --probe /tmp/probe                                  # spear_voice.t2s.fused --probe graphs
//
// Parity: random prompts fed in random chunks, batch 1 and batch 3 (rows at different lengths, steps of
// 1 and of 5 tokens), through both graphs with their own caches; prints the largest logits difference and
// how often the argmax agrees.
// Cost: µs per session run at T = 1 … 8 new tokens after PAST cached positions (batch 1) and at
// T = 1 for batch 8 (one call per row for an entry with rows_per_call, as the engine calls it), the graphs' runs interleaved in short bursts in one process: the 10th percentile
// (the least disturbed bursts) and the median. The fused graphs' cache is laid out for N positions
// (default: PAST rounded up to 32, as the engine lays it out). One intra-op thread unless --threads.
// --clock cpu times the process's CPU time instead of the wall clock (one thread runs on the calling
// thread): steadier while other processes share the cores.
import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    past: { type: 'string', default: '150' },
    capacity: { type: 'string' },
    rounds: { type: 'string', default: '60' },
    runs: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    probe: { type: 'string' },
    'no-parity': { type: 'boolean', default: false },
    'no-cost': { type: 'boolean', default: false },
    clock: { type: 'string', default: 'wall' },
  },
});
const threads = Number(values.threads);
const sessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 };
const ints = (arr, dims) => new ort.Tensor('int64', BigInt64Array.from(arr, BigInt), dims);

/** The new tokens, their positions and each row's cache length: the feeds both layouts share. */
function stepFeeds(tokens, T, lengths) {
  const B = lengths.length;
  return {
    input_ids: ints(tokens, [B, T]),
    positions: ints(
      Array.from({ length: B * T }, (_, i) => lengths[Math.floor(i / T)] + (i % T)),
      [B, T],
    ),
    past_len: ints(Array.from(lengths), [B]),
  };
}

/** (B, T, T) bool, t' <= t: the tree_mask of a chain. */
function causalTreeMask(B, T) {
  const mask = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) mask.fill(1, (b * T + t) * T, (b * T + t) * T + t + 1);
  return new ort.Tensor('bool', mask, [B, T, T]);
}

if (values.probe) {
  await probe(values.probe);
  process.exit(0);
}

const [voiceDir, ...fusedDirs] = positionals;
if (!voiceDir || fusedDirs.length === 0) {
  console.error('usage: node native-models/tools/fused_cost.mjs VOICE_DIR FUSED_DIR… [options]');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(path.join(voiceDir, 'manifest.json'), 'utf8'));
/** A voice directory's fused `full` entry (spear_voice.t2s.fused); DIR#NAME: that of its target build NAME (the manifest's "targets"). */
function fusedEntryOf(spec) {
  const [dir, target] = spec.split('#');
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  const entry = target ? m.targets?.[target]?.full : m.graphs.full;
  if (!entry) throw new Error(`${file}: no target "${target}"`);
  if (!entry.kv_layout) throw new Error(`${file}: graph "full" is not a fused graph (no kv_layout)`);
  return entry;
}
const fusedEntries = fusedDirs.map(fusedEntryOf);
const exportedFile = fusedEntries[0].source?.file ?? 'full.onnx';
const V = manifest.vocab.size;
const layers = manifest.n_layers;
const H = manifest.n_heads;
const kvDim = manifest.graphs.full.kv_dim;
const Dh = kvDim / H;

/** The exported contract: past (B, P, kvDim) per layer, P the longest row, new keys appended by the caller. */
class ExportedRunner {
  constructor(session) {
    this.session = session;
    this.name = 'exported';
  }
  reset(rows, capacity) {
    this.rows = rows;
    this.capacity = capacity;
    this.keys = Array.from({ length: layers }, () => new Float32Array(rows * capacity * kvDim));
    this.values = Array.from({ length: layers }, () => new Float32Array(rows * capacity * kvDim));
    this.lengths = new Int32Array(rows);
  }
  feeds(tokens, T) {
    const B = this.rows;
    const P = Math.max(...this.lengths);
    const f = stepFeeds(tokens, T, this.lengths);
    for (let l = 0; l < layers; l++) {
      const gather = (src) => {
        if (B === 1) return src.subarray(0, P * kvDim);
        const out = new Float32Array(B * P * kvDim);
        for (let b = 0; b < B; b++) out.set(src.subarray(b * this.capacity * kvDim, (b * this.capacity + P) * kvDim), b * P * kvDim);
        return out;
      };
      f[`past_key_${l}`] = new ort.Tensor('float32', gather(this.keys[l]), [B, P, kvDim]);
      f[`past_value_${l}`] = new ort.Tensor('float32', gather(this.values[l]), [B, P, kvDim]);
    }
    return f;
  }
  async run(tokens, T, counts) {
    const out = await this.session.run(this.feeds(tokens, T));
    for (let b = 0; b < this.rows; b++) {
      for (let l = 0; l < layers; l++) {
        const n = counts[b] * kvDim;
        const src = b * T * kvDim;
        const dst = (b * this.capacity + this.lengths[b]) * kvDim;
        this.keys[l].set(out[`new_key_${l}`].data.subarray(src, src + n), dst);
        this.values[l].set(out[`new_value_${l}`].data.subarray(src, src + n), dst);
      }
      this.lengths[b] += counts[b];
    }
    return out.logits.data;
  }
}

/**
 * The fused contract ("kv_layout": "bnsh"): the caller's (B, H, capacity, Dh) buffers are the past, passed
 * whole; the graph returns the new keys/values (B, H, T, Dh) and the caller writes each head's block in.
 */
class FusedRunner {
  /** `rowsPerCall`: the entry's rows_per_call; a call of more rows is made one call per row, as Graph.run makes it. */
  constructor(session, rowsPerCall = Infinity) {
    this.session = session;
    this.rowsPerCall = rowsPerCall;
    this.name = 'fused';
  }
  reset(rows, capacity) {
    this.rows = rows;
    this.capacity = capacity;
    const size = rows * H * capacity * Dh;
    this.keys = Array.from({ length: layers }, () => new Float32Array(size));
    this.values = Array.from({ length: layers }, () => new Float32Array(size));
    this.lengths = new Int32Array(rows);
    const dims = [rows, H, capacity, Dh];
    this.pastKeys = this.keys.map((k) => new ort.Tensor('float32', k, dims));
    this.pastValues = this.values.map((v) => new ort.Tensor('float32', v, dims));
  }
  feeds(tokens, T) {
    const f = stepFeeds(tokens, T, this.lengths);
    // The fused `full` reads tree_mask: the causal mask, as the engine feeds every chain.
    if (this.session.inputNames.includes('tree_mask')) f.tree_mask = causalTreeMask(this.rows, T);
    for (let l = 0; l < layers; l++) {
      f[`past_key_${l}`] = this.pastKeys[l];
      f[`past_value_${l}`] = this.pastValues[l];
    }
    return f;
  }
  /** Row b's call: its tokens, its length, its slot of the buffers. */
  rowFeeds(tokens, T, b) {
    const f = stepFeeds(tokens.slice(b * T, (b + 1) * T), T, this.lengths.subarray(b, b + 1));
    if (this.session.inputNames.includes('tree_mask')) f.tree_mask = causalTreeMask(1, T);
    const slot = H * this.capacity * Dh;
    for (let l = 0; l < layers; l++) {
      f[`past_key_${l}`] = new ort.Tensor('float32', this.keys[l].subarray(b * slot, (b + 1) * slot), [1, H, this.capacity, Dh]);
      f[`past_value_${l}`] = new ort.Tensor('float32', this.values[l].subarray(b * slot, (b + 1) * slot), [1, H, this.capacity, Dh]);
    }
    return f;
  }
  async run(tokens, T, counts) {
    if (this.rows > this.rowsPerCall) {
      // One call per row (the entry's rows_per_call is 1 wherever it is set); the logits laid out as one call's.
      const logits = new Float32Array(this.rows * T * V);
      for (let b = 0; b < this.rows; b++) {
        const out = await this.session.run(this.rowFeeds(tokens, T, b));
        this.append(out, 0, b, T, counts[b]);
        logits.set(out.logits.data, b * T * V);
      }
      return logits;
    }
    const out = await this.session.run(this.feeds(tokens, T));
    for (let b = 0; b < this.rows; b++) this.append(out, b, b, T, counts[b]);
    return out.logits.data;
  }
  /** Writes output row `row`'s first `count` new keys/values into slot `b` at its length. */
  append(out, row, b, T, count) {
    for (let l = 0; l < layers; l++) {
      const keys = out[`new_key_${l}`].data;
      const vals = out[`new_value_${l}`].data;
      for (let h = 0; h < H; h++) {
        const src = (row * H + h) * T * Dh;
        const dst = ((b * H + h) * this.capacity + this.lengths[b]) * Dh;
        this.keys[l].set(keys.subarray(src, src + count * Dh), dst);
        this.values[l].set(vals.subarray(src, src + count * Dh), dst);
      }
    }
    this.lengths[b] += count;
  }
}

const argmaxAt = (logits, offset) => {
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[offset + i] > logits[offset + best]) best = i;
  return best;
};

/** A deterministic random source, so runs compare. */
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

async function parity(a, b, capacity) {
  const random = lcg(7);
  const token = () => 4 + Math.floor(random() * (V - 4));
  let maxDiff = 0;
  let agree = 0;
  let positions = 0;
  const compare = (la, lb, B, T, counts) => {
    for (let r = 0; r < B; r++)
      for (let t = 0; t < counts[r]; t++) {
        const o = (r * T + t) * V;
        for (let i = 0; i < V; i++) maxDiff = Math.max(maxDiff, Math.abs(la[o + i] - lb[o + i]));
        agree += argmaxAt(la, o) === argmaxAt(lb, o) ? 1 : 0;
        positions++;
      }
  };
  // Batch 1: prompts of several lengths, then chunks of 1–6 tokens up to ~300 positions.
  for (const promptLength of [1, 9, 40, 120]) {
    a.reset(1, capacity);
    b.reset(1, capacity);
    let T = promptLength;
    while (a.lengths[0] + T <= Math.min(capacity, 300)) {
      const tokens = Array.from({ length: T }, token);
      compare(await a.run(tokens, T, [T]), await b.run(tokens, T, [T]), 1, T, [T]);
      T = 1 + Math.floor(random() * 6);
    }
  }
  // Batch 3: a prompt call with rows of different lengths (right-padded, every row at position 0),
  // then one-token steps, rows at different lengths.
  a.reset(3, capacity);
  b.reset(3, capacity);
  const counts = [7, 3, 12];
  const Tp = 12;
  const prompt = Array.from({ length: 3 * Tp }, token);
  compare(await a.run(prompt, Tp, counts), await b.run(prompt, Tp, counts), 3, Tp, counts);
  for (let step = 0; step < 40; step++) {
    const tokens = [token(), token(), token()];
    compare(await a.run(tokens, 1, [1, 1, 1]), await b.run(tokens, 1, [1, 1, 1]), 3, 1, [1, 1, 1]);
  }
  // Verification-sized steps of several rows at different lengths, one row padded.
  for (let step = 0; step < 10; step++) {
    const rowCounts = [5, 5, 3];
    const tokens = Array.from({ length: 3 * 5 }, token);
    compare(await a.run(tokens, 5, rowCounts), await b.run(tokens, 5, rowCounts), 3, 5, rowCounts);
  }
  return { maxDiff, agree, positions };
}

/** Brings a runner to `past` cached positions per row (random keys/values are fine for timing). */
function fill(runner, rows, capacity, past) {
  runner.reset(rows, capacity);
  const random = lcg(3);
  for (const buffers of [runner.keys, runner.values]) for (const buf of buffers) for (let i = 0; i < buf.length; i++) buf[i] = random() - 0.5;
  runner.lengths.fill(past);
}

async function cost(runners, { past, capacity, rounds, runs, clock }) {
  const cases = [1, 2, 3, 4, 5, 6, 7, 8].map((T) => ({ B: 1, T })).concat([{ B: 8, T: 1 }]);
  const table = [];
  for (const { B, T } of cases) {
    const samples = runners.map(() => []);
    const tokens = Array.from({ length: B * T }, (_, i) => 4 + (i % 50));
    const counts = Array(B).fill(0); // keep the lengths where they are: time the same call again and again
    for (const runner of runners) {
      fill(runner, B, capacity, past);
      for (let i = 0; i < 10; i++) await runner.run(tokens, T, counts);
    }
    // Many short bursts, the graphs in turn: other processes' load hits all alike.
    for (let round = 0; round < rounds; round++) {
      for (const [k, runner] of runners.entries()) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        for (let i = 0; i < runs; i++) await runner.run(tokens, T, counts);
        const c1 = process.cpuUsage(c0);
        samples[k].push(clock === 'cpu' ? (c1.user + c1.system) / runs : ((performance.now() - t0) / runs) * 1000);
      }
    }
    const at = (s, q) => [...s].sort((x, y) => x - y)[Math.floor(q * s.length)];
    table.push({ B, T, p10: samples.map((s) => at(s, 0.1)), medians: samples.map((s) => at(s, 0.5)) });
  }
  return table;
}

async function probe(dir) {
  const ops = [
    'MatMul',
    'SimplifiedLayerNormalization',
    'SkipSimplifiedLayerNormalization',
    'QuickGelu',
    'RotaryEmbedding',
    'GroupQueryAttention',
    'MultiHeadAttention',
    'DynamicQuantizeMatMul',
    'MatMulNBits',
  ];
  const D = 64,
    PH = 4,
    PDh = 16,
    P = 8;
  const rand = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  for (const op of ops) {
    try {
      const s = await ort.InferenceSession.create(path.join(dir, `${op}.onnx`), sessionOptions);
      const f = {};
      for (const n of s.inputNames) {
        if (['x', 's'].includes(n)) f[n] = new ort.Tensor('float32', rand(2 * 3 * D), [2, 3, D]);
        else if (['q', 'k', 'v'].includes(n)) f[n] = new ort.Tensor('float32', rand(D), [1, 1, D]);
        else if (n === 'pos') f[n] = ints([0, 1, 2, 5, 6, 7], [2, 3]);
        else if (n === 'qkv') f[n] = new ort.Tensor('float32', rand(3 * D), [1, 1, 3 * D]);
        else if (n === 'pk' || n === 'pv') f[n] = new ort.Tensor('float32', rand(PH * P * PDh), [1, PH, P, PDh]);
        else if (n === 'seqlens_k') f[n] = new ort.Tensor('int32', Int32Array.of(3), [1]);
        else if (n === 'total') f[n] = new ort.Tensor('int32', Int32Array.of(4), []);
      }
      const out = await s.run(f);
      console.log(
        `${op.padEnd(34)} runs  ${Object.entries(out)
          .map(([k, v]) => `${k}${JSON.stringify(v.dims)}`)
          .join(' ')}`,
      );
    } catch (e) {
      console.log(`${op.padEnd(34)} FAILS ${String(e.message).split('\n')[0].slice(0, 200)}`);
    }
  }
  // GroupQueryAttention with present bound to past: written in place (positions 4… keep their 7s), but
  // onnxruntime-node copies every fetched output into a new ArrayBuffer, the whole buffer each call.
  const s = await ort.InferenceSession.create(path.join(dir, 'GroupQueryAttention.onnx'), sessionOptions);
  for (const cap of [8, 512, 4096]) {
    const kbuf = new Float32Array(PH * cap * PDh).fill(7);
    const vbuf = new Float32Array(PH * cap * PDh).fill(9);
    const pk = new ort.Tensor('float32', kbuf, [1, PH, cap, PDh]);
    const pv = new ort.Tensor('float32', vbuf, [1, PH, cap, PDh]);
    const feeds = {
      qkv: new ort.Tensor('float32', rand(3 * D), [1, 1, 3 * D]),
      pk,
      pv,
      seqlens_k: new ort.Tensor('int32', Int32Array.of(3), [1]),
      total: new ort.Tensor('int32', Int32Array.of(4), []),
    };
    const out = await s.run(feeds, { y: null, k: pk, v: pv });
    const written = [];
    for (let h = 0; h < PH; h++) for (let p = 0; p < cap; p++) if (kbuf[(h * cap + p) * PDh] !== 7) written.push(p);
    const aliased = out.k.data.buffer === kbuf.buffer;
    const time = async (fetches) => {
      const t0 = performance.now();
      for (let i = 0; i < 300; i++) await s.run(feeds, fetches);
      return ((performance.now() - t0) / 300) * 1000;
    };
    const bound = await time({ y: null, k: pk, v: pv });
    const yOnly = await time({ y: null });
    console.log(
      `GQA shared buffer, capacity ${String(cap).padStart(4)}: wrote key positions [${[...new Set(written)]}] in place; ` +
        `returned output aliases the buffer: ${aliased}; ${bound.toFixed(0)} µs per run with present bound, ${yOnly.toFixed(0)} µs fetching only the attention output`,
    );
  }
}

const exported = new ExportedRunner(await ort.InferenceSession.create(path.join(voiceDir, exportedFile), sessionOptions));
const fused = [];
for (const [i, spec] of fusedDirs.entries()) {
  const entry = fusedEntries[i];
  const runner = new FusedRunner(await ort.InferenceSession.create(path.join(spec.split('#')[0], entry.file), sessionOptions), entry.rows_per_call);
  runner.name = `${spec} (${entry.file})`;
  fused.push(runner);
}
// The engine lays a fused cache out GROW_STRIDE (32) positions at a time (electron/core/engine/kv-cache.ts).
const capacity = Number(values.capacity ?? 0) || Math.ceil((Number(values.past) + 1) / 32) * 32;
console.log(
  `${voiceDir}/${exportedFile} against ${fused.map((r) => r.name).join(', ')}; onnxruntime-node ${ort.env.versions?.common ?? ''}, ${threads} thread(s)`,
);
if (!values['no-parity']) {
  for (const runner of fused) {
    const p = await parity(exported, runner, capacity);
    console.log(`parity of ${runner.name}: ${p.positions} positions, logits max |Δ| ${p.maxDiff.toExponential(2)}, argmax agrees at ${p.agree}/${p.positions}`);
  }
}
if (!values['no-cost']) {
  const past = Number(values.past);
  const table = await cost([exported, ...fused], { past, capacity, rounds: Number(values.rounds), runs: Number(values.runs), clock: values.clock });
  console.log(
    `\ncost per run (µs of ${values.clock === 'cpu' ? 'process CPU time' : 'wall time'}), ${past} cached positions (fused cache laid out for ${capacity}), ` +
      `${values.rounds} interleaved bursts of ${values.runs} runs: 10th percentile / median`,
  );
  console.log(`| B | T | exported | ${fused.map((_r, i) => `fused ${i + 1} | ×`).join(' | ')} |`);
  console.log(`| --- | --- | --- | ${fused.map(() => '--- | ---').join(' | ')} |`);
  for (const { B, T, p10, medians } of table) {
    const cell = (k) => `${p10[k].toFixed(0)} / ${medians[k].toFixed(0)}`;
    console.log(
      `| ${B} | ${T} | ${cell(0)} | ${fused.map((_, i) => `${cell(i + 1)} | ${(p10[0] / p10[i + 1]).toFixed(2)} / ${(medians[0] / medians[i + 1]).toFixed(2)}`).join(' | ')} |`,
    );
  }
  fused.forEach((r, i) => console.log(`fused ${i + 1}: ${r.name}`));
}
