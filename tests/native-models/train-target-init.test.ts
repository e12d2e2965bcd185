/**
 * `train_t2s.py train --target_init`: the target stage starts from a trained target.pt (fine-tuning on
 * another pack) instead of random weights. Checked with the smoke preset on a tiny pack of fake units:
 * a run at learning rate 0 that starts from an earlier run's target validates exactly as that target did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';

const ROOT = path.resolve(FIXTURES, '../..');
const PY = '/usr/bin/python3';

function python(args: string[]): string {
  const r = spawnSync(PY, args, { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('--target_init starts the target stage from a trained target: at lr 0 it validates as that target did', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spear-target-init-'));
  try {
    mkdirSync(path.join(dir, 'corpus'));
    // 24 short rows of phoneme ids 1..20 (the pack derives stand-in units from them: --fake-units).
    const rows = Array.from({ length: 24 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i}`, phonemes: Array.from({ length: 6 + (i % 5) }, (_, j) => 1 + ((i * 7 + j * 3) % 20)) }));
    for (const split of ['train', 'val', 'test']) writeFileSync(path.join(dir, `corpus/${split}.jsonl`), rows.join('\n') + '\n');
    const pack = path.join(dir, 'pack');
    python(['native-models/train_t2s.py', 'pack', '--corpus', path.join(dir, 'corpus'), '--fake-units', '--n-units', '64', '--out', pack]);
    const common = ['native-models/train_t2s.py', 'train', '--preset', 'smoke', '--stages', 'target', '--pack', pack, '--target_share', '1', '--threads', '1'];
    const first = path.join(dir, 'first');
    python([...common, '--out', first, '--budget_s', '6']);
    const second = path.join(dir, 'second');
    const log = python([...common, '--out', second, '--budget_s', '3', '--lr', '0', '--target_init', path.join(first, 'target.pt')]);
    assert.match(log, /target: starts from .*first\/target\.pt/);
    const ce = (run: string): number => JSON.parse(readFileSync(path.join(run, 'eval.json'), 'utf8')).target.main_ce;
    assert.ok(Math.abs(ce(second) - ce(first)) < 1e-6, `main CE ${ce(second)} after lr 0 from the first run's target, ${ce(first)} there`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
