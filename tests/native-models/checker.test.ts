/**
 * The reading checker's training and export (native-models/checker/) on a tiny made-up pack: training
 * writes a checkpoint, the export writes a checker the app loads, onnxruntime-node matches the PyTorch
 * reference of the export, and the manifest maps phonemes to phones (stress dropped, pauses and word
 * boundaries out) with a threshold taken from the validation scores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';
import { loadReadingCheck } from '../../electron/core/pipeline/reading-check.ts';

const ROOT = path.resolve(FIXTURES, '../..');

// Units "say" phones: phone k lasts 2-3 units drawn from {2k, 2k+1}; inventory entries 0-1 are a word
// boundary and a pause, the rest phones with stress marks (AA0 and AA1 are one phone).
const MAKE_PACK = `
import sys, json, numpy as np
out = sys.argv[1]
inventory = ['_', '<,>', 'AA0', 'AA1', 'B', 'K', 'S']
n_units = 12
rng = np.random.default_rng(0)
phone = {2: 0, 3: 0, 4: 1, 5: 2, 6: 3}
for split, n in (('train', 120), ('val', 20)):
    rows, ids = [], []
    for i in range(n):
        ph = [int(p) for p in rng.choice([0, 2, 3, 4, 5, 6], size=int(rng.integers(3, 7)))]
        units = []
        for p in ph:
            if p in phone:
                units += [2 * phone[p] + int(rng.integers(0, 2)) for _ in range(int(rng.integers(2, 4)))]
            else:
                units += [10]
        rows.append([1] + [p + 4 for p in ph] + [2] + [u + 11 for u in units] + [3])
        ids.append(f'{split}{i:04d}')
    np.save(f'{out}/{split}.tokens.npy', np.concatenate(rows).astype(np.int16))
    np.save(f'{out}/{split}.offsets.npy', np.cumsum([0] + [len(r) for r in rows]).astype(np.int64))
    np.save(f'{out}/{split}.sep.npy', np.array([r.index(2) for r in rows], dtype=np.int32))
    open(f'{out}/{split}.ids.txt', 'w').write('\\n'.join(ids) + '\\n')
json.dump({'phoneme_inventory': inventory, 'vocab': {'size': 23, 'special': {'pad': 0, 'bos': 1, 'sep': 2, 'eos': 3},
           'phonemes': {'offset': 4, 'count': 7}, 'units': {'offset': 11, 'count': n_units}}}, open(f'{out}/meta.json', 'w'))
`;

test('train_ctc.py and export.py: a tiny checker trains, exports with its threshold, and loads in the app with PyTorch parity', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spear-checker-train-'));
  try {
    const pack = spawnSync('/usr/bin/python3', ['-c', MAKE_PACK, dir], { encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    const py = (args: string[]) => spawnSync('/usr/bin/python3', args, { cwd: ROOT, encoding: 'utf8' });
    const train = py(['native-models/checker/train_ctc.py', '--pack', dir, '--out', path.join(dir, 'run'), '--budget_s', '6', '--batch', '8', '--eval_every', '1000', '--threads', '1']);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stdout, /best val \d+\.\d+ nats\/phone/);
    const out = path.join(dir, 'checker');
    const exp = py(['native-models/checker/export.py', '--ckpt', path.join(dir, 'run', 'ckpt.pt'), '--pack', dir, '--out', out]);
    assert.equal(exp.status, 0, exp.stderr);

    const manifest = JSON.parse(readFileSync(path.join(out, 'checker.json'), 'utf8'));
    assert.deepEqual(manifest.phones, ['AA', 'B', 'K', 'S']);
    assert.deepEqual(manifest.phone_of_phoneme, [-1, -1, 0, 0, 1, 2, 3]);
    assert.equal(manifest.blank, 4);
    assert.ok(manifest.threshold > 0 && manifest.threshold === manifest.threshold_evidence.quantiles['0.9']);

    const check = await loadReadingCheck(out);
    try {
      const parity = JSON.parse(readFileSync(path.join(out, 'parity.json'), 'utf8'));
      const phonemeOf = (p: number): number => manifest.phone_of_phoneme.indexOf(p);
      const score = await check.score(parity.units, parity.phones.map(phonemeOf));
      assert.ok(Math.abs(score - parity.nats_per_phone) < 1e-3, `app ${score} vs PyTorch ${parity.nats_per_phone}`);
    } finally {
      await check.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
