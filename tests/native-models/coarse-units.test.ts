/**
 * The tools for a voice with fewer units (docs/results.md#tried-and-not-shipped), checked on small arrays:
 * relabel_pack.py keeps the specials and phonemes and maps every unit to its group; remap_checkpoint.py
 * gives each group its representative's embedding row and the mean of its members' head rows; and
 * coarse_units.py, grouping by what the target confuses, merges the units the target weighs against each
 * other before units that are merely near in the codebook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';

const ROOT = path.resolve(FIXTURES, '../..');

const SCRIPT = `
import sys, json, torch, numpy as np
sys.path.insert(0, 'native-models'); sys.path.insert(0, 'native-models/experiments')
from relabel_pack import relabel
from remap_checkpoint import remap
from coarse_units import groups
out = {}
# ids 0..2 specials/phonemes (offset 3), units 0..3 -> groups [1, 0, 1, 2]
label = np.array([1, 0, 1, 2])
out["relabel"] = relabel(np.array([0, 2, 3, 4, 5, 6, 1], dtype=np.int16), label, 3).tolist()
rows = torch.arange(7, dtype=torch.float32)[:, None] * torch.ones(7, 2)   # row i holds i
state, names = remap({"embed.weight": rows, "lm_head.weight": rows, "other": torch.ones(5, 2)}, 7, label, np.array([1, 2, 3]), 3)
out["embed"] = state["embed.weight"][:, 0].tolist()      # groups 0, 1, 2 take units 1, 2, 3's rows
out["head"] = state["lm_head.weight"][:, 0].tolist()     # group 1 = mean of units 0 and 2
out["names"] = sorted(names)
# Four units on a line at 0, 1, 10, 11: centroids pair (0, 1) and (10, 11); the target confuses 0 with 10
# and 1 with 11, so grouping by confusion pairs those instead.
centroids = np.array([[0.0], [1.0], [10.0], [11.0]])
confusion = np.diag([1.0, 1.0, 1.0, 1.0])
confusion[0, 2] = confusion[2, 0] = confusion[1, 3] = confusion[3, 1] = 0.5
by_centroid, _ = groups(centroids, 2)
by_confusion, rep = groups(centroids, 2, confusion)
out["centroid_pairs"] = bool(by_centroid[0] == by_centroid[1] and by_centroid[2] == by_centroid[3])
out["confusion_pairs"] = bool(by_confusion[0] == by_confusion[2] and by_confusion[1] == by_confusion[3] and by_confusion[0] != by_confusion[1])
out["representatives_in_group"] = all(by_confusion[r] == g for g, r in enumerate(rep))
print(json.dumps(out))
`;

test('relabelling, remapping and grouping units by what the target confuses do what the docs say', () => {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  // ids below the offset kept; unit u (id 3 + u) becomes 3 + label[u]
  assert.deepEqual(out.relabel, [0, 2, 4, 3, 4, 5, 1]);
  assert.deepEqual(out.embed, [0, 1, 2, 4, 5, 6]);
  assert.deepEqual(out.head, [0, 1, 2, 4, 4, 6]);
  assert.deepEqual(out.names, ['embed.weight', 'lm_head.weight']);
  assert.equal(out.centroid_pairs, true);
  assert.equal(out.confusion_pairs, true);
  assert.equal(out.representatives_in_group, true);
});
