/**
 * ONNX vs PyTorch parity: the committed fixtures carry PyTorch's outputs for reference inputs
 * (native-models/spear_t2s/export.py); ONNX Runtime must reproduce them within 1e-4. The export itself
 * is rerun from Python into a scratch folder, so a change that breaks the exporter fails here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';

const ROOT = path.resolve(FIXTURES, '../..');

function checkParity(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'native-models/check_parity.mjs'), dir], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

for (const name of ['tiny', 'tiny-noexit', 'tiny-voice']) {
  test(`ONNX Runtime reproduces PyTorch's outputs for every graph of ${name} (≤ 1e-4)`, () => {
    const r = checkParity(path.join(FIXTURES, name, 'parity'));
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /every output within 0\.0001/);
  });
}

test('the exporter, rerun from PyTorch, writes graphs that pass parity and the same files as committed', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'spear-export-'));
  try {
    const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'native-models/make_fixtures.py'), '--tiny', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /every output within 0\.0001/);
    const manifest = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const fresh = manifest(out);
    const committed = manifest(path.join(FIXTURES, 'tiny'));
    for (const role of Object.keys(committed.graphs)) assert.equal(fresh.graphs[role].sha256, committed.graphs[role].sha256, `${role}.onnx differs from the committed fixture`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
