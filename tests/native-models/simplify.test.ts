/**
 * The exporter folds the tracer's shape arithmetic (native-models/spear_t2s/simplify.py): in every
 * committed fixture graph each Reshape has a constant target and no Slice bound is computed from a
 * Shape. (That the folded graphs compute the same is the parity test's job.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';

const SCRIPT = `
import json, sys, onnx
report = {}
for path in sys.argv[1:]:
    m = onnx.load(path)
    constant = {i.name for i in m.graph.initializer} | {o for n in m.graph.node if n.op_type == "Constant" for o in n.output}
    producers = {o: n for n in m.graph.node for o in n.output}
    def from_shape(name, seen=()):
        node = producers.get(name)
        if node is None or name in seen:
            return False
        return node.op_type == "Shape" or any(from_shape(i, seen + (name,)) for i in node.input if i)
    report[path] = {
        "computed_reshapes": sum(1 for n in m.graph.node if n.op_type == "Reshape" and n.input[1] not in constant),
        "shape_slices": sum(1 for n in m.graph.node if n.op_type == "Slice" and any(from_shape(i) for i in n.input[1:3])),
    }
print(json.dumps(report))
`;

test('exported graphs carry no shape arithmetic: constant Reshape targets, Slice bounds not read from Shape', () => {
  const files = ['tiny', 'tiny-noexit', 'tiny-voice'].flatMap((f) =>
    ['full', 'trunk', 'rest', 'exit_head', 'draft', 'prophet'].map((role) => path.join(FIXTURES, f, `${role}.onnx`)),
  );
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT, ...files], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, { computed_reshapes: number; shape_slices: number }>;
  for (const [file, counts] of Object.entries(report)) {
    assert.deepEqual(counts, { computed_reshapes: 0, shape_slices: 0 }, path.relative(FIXTURES, file));
  }
});
