/**
 * ONNX vs PyTorch parity: the committed fixtures carry PyTorch's outputs for reference inputs
 * (native-models/spear_voice/t2s/export.py); ONNX Runtime, through native-models/tools/check_parity.mjs,
 * must reproduce them within 1e-4. (The export rerun from PyTorch is tests/native-models/test_export.py.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';

const ROOT = path.resolve(FIXTURES, '../..');

function checkParity(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'native-models/tools/check_parity.mjs'), dir], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

for (const name of ['tiny', 'tiny-noexit', 'tiny-voice', 'tiny-seed-prophet']) {
  test(`ONNX Runtime reproduces PyTorch's outputs for every graph of ${name} (≤ 1e-4)`, () => {
    const r = checkParity(path.join(FIXTURES, name, 'parity'));
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /every output within 0\.0001/);
  });
}
