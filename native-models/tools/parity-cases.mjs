// The reference cases native-models/spear_voice/t2s/export.py writes beside a model (parity/index.json and one
// binary file of little-endian tensors): read by check_parity.mjs and by the tests that compare graphs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** Opens a parity folder: its index (cases, tolerance) and `tensor(spec)`, the ort.Tensor a spec names. */
export function openParityCases(dir) {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const data = readFileSync(join(dir, index.data));
  const tensor = (spec) => {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = data.subarray(spec.offset, spec.offset + count * (spec.dtype === 'int64' ? 8 : 4));
    // Copy into a fresh buffer: the file's Buffer may not be 8-byte aligned for BigInt64Array.
    const buffer = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(buffer).set(bytes);
    const array = spec.dtype === 'int64' ? new BigInt64Array(buffer) : new Float32Array(buffer);
    return new ort.Tensor(spec.dtype, array, spec.shape);
  };
  return { index, tensor };
}
