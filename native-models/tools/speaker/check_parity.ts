/**
 * ONNX Runtime (Node) against PyTorch for the exported speaker: runs parity.json's units through
 * speaker.onnx and compares with the frames PyTorch wrote. Exit 1 above the tolerance (1e-4).
 *
 *   node --import tsx native-models/tools/speaker/check_parity.ts native-models/voice/speaker
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { SPEAKER_INPUT, SPEAKER_OUTPUT } from '../../../electron/core/pipeline/speaker.ts';

const TOLERANCE = 1e-4;
const dir = process.argv[2] ?? 'native-models/voice/speaker';
const parity = JSON.parse(await readFile(path.join(dir, 'parity.json'), 'utf8')) as { units: number[][]; shape: number[]; frames: number[] };
const session = await ort.InferenceSession.create(path.join(dir, 'speaker.onnx'));
const [B, U] = [parity.units.length, parity.units[0].length];
const ids = BigInt64Array.from(parity.units.flat(), (u) => BigInt(u));
const out = (await session.run({ [SPEAKER_INPUT]: new ort.Tensor('int64', ids, [B, U]) }))[SPEAKER_OUTPUT];
let maxDiff = 0;
const data = out.data as Float32Array;
for (let i = 0; i < data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - parity.frames[i]));
const ok = out.dims.join() === parity.shape.join() && maxDiff <= TOLERANCE;
// parity.json rounds to 6 decimals, so up to 5e-7 of the difference is rounding
console.log(
  `speaker parity: shape [${out.dims.join(', ')}], max |onnx - torch| = ${maxDiff.toExponential(2)} (tolerance ${TOLERANCE}) ${ok ? 'ok' : 'FAILED'}`,
);
await session.release();
process.exit(ok ? 0 : 1);
