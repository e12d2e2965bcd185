/**
 * The voice's greedy readings of a training pack's prompts, decoded by the engine with the voice's own target
 * (the int8 one where the manifest says so): the data drafters are fine-tuned on
 * (spear_voice/train_t2s/from_voice.py, which turns these records into a pack).
 *
 *   node --import tsx native-models/tools/greedy_readings.mts --pack native-models/work/pack-everyday \
 *        --split train [--from 0] [--to 9000] --out native-models/work/ft/greedy/train.0.i32 \
 *        [--voice native-models/voice] [--batch 16]
 *
 * Rows [from, to) of the split, in order; each prompt ([bos] phonemes [sep]) is read by `ar` with the voice's
 * stop rule, one thread. Run two processes on two row ranges to use two cores. Writes int32 records: the
 * sequence's length, then the prompt, the units and the stop token (appended where the cap stopped it, as the
 * engine stops there), written under a temporary name and renamed at the end.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { decode } from '../../electron/core/engine/decode.ts';
import { loadModel } from '../../electron/core/engine/model.ts';
import { readingRules, type VoiceSection } from '../../electron/core/pipeline/voice.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    voice: { type: 'string', default: path.join(ROOT, 'native-models/voice') },
    pack: { type: 'string' },
    split: { type: 'string', default: 'train' },
    from: { type: 'string', default: '0' },
    to: { type: 'string' },
    out: { type: 'string' },
    batch: { type: 'string', default: '16' },
  },
});
if (!args.pack || !args.out) throw new Error('greedy_readings: --pack and --out are required');

/** A little-endian .npy array's dtype and data (the pack's tokens int16, offsets int64, sep int32). */
function readNpy(file: string, dtype: '<i2' | '<i4' | '<i8'): Int16Array | Int32Array | BigInt64Array {
  const bytes = readFileSync(file);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(header)?.[1];
  if (descr !== dtype || !header.includes("'fortran_order': False")) throw new Error(`${file}: expected a C-order ${dtype} array, header ${header.trim()}`);
  const data = bytes.subarray(10 + headerLength);
  const copy = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  return dtype === '<i2' ? new Int16Array(copy) : dtype === '<i4' ? new Int32Array(copy) : new BigInt64Array(copy);
}

const file = (suffix: string) => path.join(args.pack!, `${args.split}.${suffix}.npy`);
const tokens = readNpy(file('tokens'), '<i2') as Int16Array;
const offsets = readNpy(file('offsets'), '<i8') as BigInt64Array;
const seps = readNpy(file('sep'), '<i4') as Int32Array;
const from = Number(args.from);
const to = Math.min(seps.length, args.to === undefined ? seps.length : Number(args.to));

const model = await loadModel(args.voice, { roles: ['full'], threads: 1 });
const voice = (model.manifest as { voice?: VoiceSection }).voice;
if (!voice) throw new Error(`${args.voice}: not a voice (no voice section)`);
const rules = readingRules(model.manifest, voice.max_units);
const stopToken = model.manifest.stop_token;
const batchSize = Number(args.batch);
const records: number[] = [];
const started = performance.now();
let units = 0;
for (let b = from; b < to; b += batchSize) {
  const rows = Array.from({ length: Math.min(to, b + batchSize) - b }, (_, i) => b + i);
  const prompts = rows.map((i) => Array.from(tokens.subarray(Number(offsets[i]), Number(offsets[i]) + seps[i] + 1)));
  const result = await decode(model, prompts, { strategy: 'ar', maxNewTokens: rows.map((i) => rules.maxUnits(seps[i] - 1)) });
  result.rows.forEach((row, r) => {
    const seq = [...prompts[r], ...row.tokens, stopToken];
    records.push(seq.length, ...seq);
  });
  units += result.summary.tokens;
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\r${args.split}: rows ${from}..${rows.at(-1)! + 1} of ${from}..${to}, ${units} units, ${seconds.toFixed(0)} s`);
}
process.stdout.write('\n');
writeFileSync(`${args.out}.tmp`, new Uint8Array(Int32Array.from(records).buffer));
renameSync(`${args.out}.tmp`, args.out);
console.log(`${args.out}: ${to - from} readings, ${units} units`);
await model.release();
