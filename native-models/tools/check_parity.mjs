#!/usr/bin/env node
// Runs the reference cases written by native-models/spear_voice/t2s/export.py through onnxruntime-node and
// compares every output with PyTorch's. Also checks each session's inputNames/outputNames against the
// contract lists recorded in the case. Exit code 1 if any output differs by more than the tolerance.
// A case that says "kv_layout": "bnsh" (and "kv_heads") is for a graph that reads and writes the cache as
// (B, H, P, Dh): its (B, P, H·Dh) past tensors are relaid out before the run, its new ones back after.
//
//   node native-models/tools/check_parity.mjs tests/fixtures/tiny/parity

import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openParityCases } from './parity-cases.mjs';

const refDir = process.argv[2];
if (!refDir) {
  console.error('usage: node native-models/tools/check_parity.mjs <parity dir with index.json>');
  process.exit(2);
}
const { index, tensor: readTensor } = openParityCases(refDir);
const tolerance = index.tolerance;

/** The same feeds with every cache slot at or past past_len[b] overwritten by large values: the
 * attention rule says outputs must not change, so this proves the mask inside ONNX Runtime itself. */
function withOtherGarbage(feeds) {
  if (!feeds.past_len) return null; // a graph without a cache (medusa)
  const pastLen = feeds.past_len.data;
  const out = { ...feeds };
  let changed = false;
  for (const [name, tensor] of Object.entries(feeds)) {
    if (!name.startsWith('past_key_') && !name.startsWith('past_value_')) continue;
    const [B, P, width] = tensor.dims;
    const array = Float32Array.from(tensor.data);
    for (let b = 0; b < B; b++) {
      for (let j = Number(pastLen[b]); j < P; j++) {
        for (let c = 0; c < width; c++) array[(b * P + j) * width + c] = 1e3 * Math.sin(b * 7919 + j * 104729 + c);
        changed = true;
      }
    }
    out[name] = new ort.Tensor('float32', array, tensor.dims);
  }
  return changed ? out : null;
}

const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const isCache = (name) => /^(past|new)_(key|value)_\d+$/.test(name);

/** (B, S, H·Dh) ↔ (B, H, S, Dh) of a cache tensor's data. */
function relayout(data, B, S, H, Dh, toBnsh) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++) {
        const bsd = ((b * S + s) * H + h) * Dh;
        const bnsh = ((b * H + h) * S + s) * Dh;
        if (toBnsh) out.set(data.subarray(bsd, bsd + Dh), bnsh);
        else out.set(data.subarray(bnsh, bnsh + Dh), bsd);
      }
  return out;
}

/** Feeds as the case's graph reads them: a "bnsh" case's past tensors relaid out. */
function asGraphReads(c, feeds) {
  if (c.kv_layout !== 'bnsh') return feeds;
  const out = { ...feeds };
  for (const [name, t] of Object.entries(feeds)) {
    if (!isCache(name)) continue;
    const [B, P, width] = t.dims;
    const Dh = width / c.kv_heads;
    out[name] = new ort.Tensor('float32', relayout(t.data, B, P, c.kv_heads, Dh, true), [B, c.kv_heads, P, Dh]);
  }
  return out;
}

/** Results in the case's (B, T, H·Dh) cache layout. */
function asWritten(c, results) {
  if (c.kv_layout !== 'bnsh') return results;
  const out = { ...results };
  for (const [name, t] of Object.entries(results)) {
    if (!isCache(name) || t.dims.length !== 4) continue;
    const [B, H, T, Dh] = t.dims.map(Number);
    out[name] = { dims: [B, T, H * Dh], data: relayout(t.data, B, T, H, Dh, false) };
  }
  return out;
}

const sessions = new Map();
const worst = new Map(); // "role output" → max abs diff over cases
const failures = [];

function compare(c, label, results) {
  for (const [name, spec] of Object.entries(c.outputs)) {
    const expected = readTensor(spec);
    const got = results[name];
    const key = `${c.role} ${name}`;
    if (!got || !sameList(got.dims.map(Number), spec.shape)) {
      failures.push(`${c.role}/${c.case}${label}: ${name} has shape [${got?.dims}], expected [${spec.shape}]`);
      continue;
    }
    let diff = 0;
    for (let i = 0; i < expected.data.length; i++) {
      const d = Math.abs(got.data[i] - expected.data[i]);
      if (!(d <= diff)) diff = d; // NaN-safe: a NaN difference becomes the worst
    }
    worst.set(key, Math.max(worst.get(key) ?? 0, diff));
    if (!(diff <= tolerance)) failures.push(`${c.role}/${c.case}${label}: ${name} max abs diff ${diff} > ${tolerance}`);
  }
}

for (const c of index.cases) {
  const graphPath = resolve(refDir, c.graph);
  if (!sessions.has(graphPath)) {
    const session = await ort.InferenceSession.create(graphPath);
    if (!sameList(session.inputNames, c.input_names) || !sameList(session.outputNames, c.output_names)) {
      failures.push(
        `${graphPath}: names differ from the contract: inputs [${session.inputNames}] ` +
          `expected [${c.input_names}], outputs [${session.outputNames}] expected [${c.output_names}]`,
      );
    }
    sessions.set(graphPath, session);
  }
  const feeds = {};
  for (const [name, spec] of Object.entries(c.inputs)) feeds[name] = readTensor(spec);
  const run = async (f) => asWritten(c, await sessions.get(graphPath).run(asGraphReads(c, f)));
  const runs = [['', await run(feeds)]];
  const regarbaged = withOtherGarbage(feeds);
  if (regarbaged) runs.push([' (other garbage)', await run(regarbaged)]);
  for (const [label, results] of runs) compare(c, label, results);
}

const roles = [...new Set(index.cases.map((c) => c.role))];
for (const role of roles) {
  const parts = [...worst].filter(([k]) => k.startsWith(`${role} `));
  const cacheWorst = Math.max(0, ...parts.filter(([k]) => k.includes('new_')).map(([, v]) => v));
  const named = parts.filter(([k]) => !k.includes('new_')).map(([k, v]) => `${k.split(' ')[1]} ${v.toExponential(2)}`);
  if (parts.some(([k]) => k.includes('new_'))) named.push(`new_key/value_* ${cacheWorst.toExponential(2)}`);
  console.log(`parity ${role.padEnd(9)} ${named.join(', ')}`);
}
const nCases = index.cases.length;
if (failures.length) {
  console.error(`FAIL ${refDir}: ${failures.length} problem(s) in ${nCases} cases (tolerance ${tolerance})`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`ok ${refDir}: ${nCases} cases, every output within ${tolerance}`);
