/**
 * Draft tree shapes (electron/core/engine/tree.ts): breadth-first layout, parents, ranks and the
 * candidates each depth needs, from either form of a spec; the tree mask; verification walks on fixed
 * inputs. (Greedy equality with ar is in decode-greedy.test.ts, the sampled law in decode-lossless.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TreeShape, treePaths } from '../../../electron/core/engine/tree.ts';
import { verifyTreeGreedy, verifyTreeSampled } from '../../../electron/core/engine/verify.ts';

test("a per-depth spec is every combination of ranks, laid out breadth first with each parent's children together", () => {
  assert.deepEqual(treePaths([2, 1]), [[0], [1], [0, 0], [1, 0]]);
  const tree = new TreeShape([3, 2]);
  assert.equal(tree.size, 10);
  assert.equal(tree.depth, 2);
  assert.deepEqual(Array.from(tree.parents), [-1, 0, 0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual(Array.from(tree.ranks), [0, 0, 1, 2, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual(Array.from(tree.firstChild.filter((_, n) => tree.childCount[n] > 0)), [1, 4, 6, 8]);
  assert.deepEqual(tree.widths, [3, 2]);
  assert.ok(tree.attends(9, 3) && tree.attends(9, 0) && tree.attends(9, 9) && !tree.attends(9, 1) && !tree.attends(4, 5));
});

test('a tree given as nodes is laid out in the same order whatever order the nodes come in', () => {
  const a = new TreeShape([[0], [2], [0, 0], [0, 0, 0], [2, 1]]);
  const b = new TreeShape([[2, 1], [0, 0, 0], [2], [0, 0], [0]]);
  for (const key of ['parents', 'depths', 'ranks', 'firstChild', 'childCount'] as const) assert.deepEqual(Array.from(a[key]), Array.from(b[key]), key);
  assert.deepEqual(Array.from(a.parents), [-1, 0, 0, 1, 2, 3]);
  assert.deepEqual(a.widths, [3, 2, 1]);
  assert.equal(a.depth, 3);
});

test('the walks: greedy follows the argmax through the children; sampled accepts a child the target is sure of and never one it excludes', () => {
  const tree = new TreeShape([2, 1]); // nodes: 0 root; 1, 2 at depth 1; 3 under 1, 4 under 2
  const tokens = Int32Array.from([9, 5, 6, 7, 8]);
  // The target wants 6 after the root, 8 after 6, then 1.
  const greedy = verifyTreeGreedy({ rows: 1, trees: [tree], tokens, targetTokens: Int32Array.from([6, 0, 8, 0, 1]) });
  assert.deepEqual(greedy.paths, [[2, 4]]);
  assert.equal(greedy.nextTokens[0], 1);
  const V = 10;
  const p = new Float64Array(5 * V);
  p[0 * V + 6] = 1; // root: surely 6 (the second child)
  p[2 * V + 3] = 0.5; // after 6: 3 or 4, never the child 8
  p[2 * V + 4] = 0.5;
  let draws = 0;
  const uniform = (): number => ((draws++ * 0.37) % 1) * 0.999;
  for (let i = 0; i < 50; i++) {
    const out = verifyTreeSampled({ rows: 1, trees: [tree], tokens, vocabSize: V, p, uniforms: [uniform] });
    assert.deepEqual(out.paths[0], [2]);
    assert.ok(out.nextTokens[0] === 3 || out.nextTokens[0] === 4);
  }
});
