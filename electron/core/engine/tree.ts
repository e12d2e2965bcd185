/**
 * Draft trees (Medusa, Cai et al. 2024, section 2.1.2; SpecInfer's token trees): the shape of one row's
 * tree of candidates, verified in one target call with a tree attention mask.
 *
 * A tree is given as the candidates kept per depth, `[k_1, …, k_d]`: every node at depth i − 1 has
 * k_i children, the k_i most likely tokens of the drafter's distribution for depth i (Medusa: head i's top
 * k_i). `[1, 1, 1]` is the chain of γ = 3; `[3, 2, 1]` has 3 + 3·2 + 3·2·1 = 15 nodes. Or as its nodes,
 * each the ranks along its path (Medusa's sparse trees): `[[0], [1], [0, 0], [0, 0, 0]]` is the chain of
 * 3 with the second candidate beside its first draft. Node 0 is the row's pending token; the others
 * follow breadth-first, each parent's children together, in their rank order, so a node's index is
 * never below its depth and a child's is above its parent's.
 *
 * In the verifying call node n sits at position start + depth(n) and attends the cached positions,
 * its ancestors and itself (`attends`). The verifier (verify.ts, verifyTreeGreedy / verifyTreeSampled)
 * walks from the root; the caches keep the accepted path (KvCache.keepPath).
 */
import type { TokenPicker } from './picker.ts';
import type { SlotTable } from './rows.ts';
import { argmax } from './sampling.ts';
import type { FullTarget } from './target.ts';
import { verifyTreeGreedy, verifyTreeSampled, type VerifyOutput, type VerifyTreeOutput } from './verify.ts';

/** The most nodes a tree may have besides its root: a verifying call scores at most 65 positions. */
export const MAX_TREE_NODES = 64;

/**
 * A tree as the candidates per depth (`[3, 2, 1]`: every node at depth i − 1 has k_i children), or as its
 * nodes (Medusa's `medusa_choices`): each node but the root as the ranks of its path, `[0, 1]` being head
 * 2's second candidate under head 1's first; every prefix of a node is a node.
 */
export type TreeSpec = readonly number[] | readonly (readonly number[])[];

/** The nodes of a tree spec as rank paths: a per-depth spec expanded, every combination of ranks. */
export function treePaths(spec: TreeSpec): number[][] {
  if (spec.length === 0 || Array.isArray(spec[0])) return (spec as readonly (readonly number[])[]).map((path) => [...path]);
  const paths: number[][] = [];
  let level: number[][] = [[]];
  for (const k of spec as readonly number[]) {
    level = level.flatMap((path) => Array.from({ length: k }, (_, r) => [...path, r]));
    paths.push(...level);
  }
  return paths;
}

/** The depth of a spec, the most drafts a step can accept (0 for what is no spec; treeProblem says why). */
export function treeDepth(spec: TreeSpec): number {
  if (!Array.isArray(spec)) return 0;
  return spec.reduce<number>((depth, node) => Math.max(depth, Array.isArray(node) ? node.length : spec.length), 0);
}

export class TreeShape {
  /** Nodes including the root (the pending token): the positions a verifying call scores per row. */
  readonly size: number;
  /** d: the depth of the deepest nodes, the most drafts a step can accept. */
  readonly depth: number;
  readonly parents: Int32Array;
  readonly depths: Int32Array;
  /** Node n's children are firstChild[n] … firstChild[n] + childCount[n] − 1, by rank. */
  readonly firstChild: Int32Array;
  readonly childCount: Int32Array;
  /** Rank of node n's token among its depth's candidates (0 = the most likely). */
  readonly ranks: Int32Array;
  /** Candidates each depth needs: widths[i] most likely tokens of depth i + 1's distribution. */
  readonly widths: number[];

  /** Check the spec with `treeProblem` first. */
  constructor(spec: TreeSpec) {
    // Breadth first: by depth, then by the ranks along the path, so each parent's children lie together.
    const paths = treePaths(spec).sort((a, b) => a.length - b.length || compareRanks(a, b));
    const size = paths.length + 1;
    this.size = size;
    this.depth = paths.length > 0 ? paths[paths.length - 1].length : 0;
    this.parents = new Int32Array(size).fill(-1);
    this.depths = new Int32Array(size);
    this.firstChild = new Int32Array(size);
    this.childCount = new Int32Array(size);
    this.ranks = new Int32Array(size);
    this.widths = new Array(this.depth).fill(0);
    const index = new Map<string, number>([['', 0]]);
    paths.forEach((path, i) => {
      const n = i + 1;
      const parent = index.get(path.slice(0, -1).join(','))!;
      index.set(path.join(','), n);
      this.parents[n] = parent;
      this.depths[n] = path.length;
      this.ranks[n] = path[path.length - 1];
      if (this.childCount[parent]++ === 0) this.firstChild[parent] = n;
      this.widths[path.length - 1] = Math.max(this.widths[path.length - 1], this.ranks[n] + 1);
    });
  }

  /** Whether node t attends node u: u is t itself or one of its ancestors. */
  attends(t: number, u: number): boolean {
    for (let n = t; n >= u; n = this.parents[n]) if (n === u) return true;
    return false;
  }

  /**
   * The path of `accepted` (nodes by depth) extended through each node's first child to a leaf: the
   * tokens a step reports as drafted (stats.ts), of which the accepted ones are the start.
   */
  reportedPath(tokens: ArrayLike<number>, tokenBase: number, accepted: readonly number[]): number[] {
    const path = accepted.map((n) => tokens[tokenBase + n]);
    let n = accepted.length > 0 ? accepted[accepted.length - 1] : 0;
    while (this.childCount[n] > 0) {
      n = this.firstChild[n];
      path.push(tokens[tokenBase + n]);
    }
    return path;
  }
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * Why `spec` is not a tree this model can draft (null when it is): 1 to `maxDepth` depths (Medusa: its
 * heads), candidates per depth or ranks from 1 / 0 to `vocabSize`, at most MAX_TREE_NODES nodes besides
 * the root; given as nodes, no node twice and every node's parent present.
 */
export function treeProblem(spec: unknown, maxDepth: number, vocabSize: number): string | null {
  const forms = `candidates per depth (e.g. [3, 2, 1]) or nodes as rank paths (e.g. [[0], [1], [0, 0]]), 1 to ${maxDepth} deep (this model's medusa graph has ${maxDepth} heads)`;
  if (!Array.isArray(spec) || spec.length === 0) return forms;
  if (spec.every((k) => typeof k === 'number')) {
    if (spec.length > maxDepth || !spec.every((k) => Number.isInteger(k) && k >= 1 && k <= vocabSize)) {
      return `${forms}; candidates per depth are 1 to ${maxDepth} integers, each from 1 to the vocabulary's ${vocabSize}`;
    }
    let nodes = 0;
    let width = 1;
    for (const k of spec as number[]) nodes += width *= k;
    if (nodes > MAX_TREE_NODES) return `a tree of at most ${MAX_TREE_NODES} nodes; [${spec.join(', ')}] has ${nodes}`;
    return null;
  }
  if (!spec.every((p) => Array.isArray(p) && p.length >= 1 && p.length <= maxDepth && p.every((r) => Number.isInteger(r) && r >= 0 && r < vocabSize))) {
    return `${forms}; a node is 1 to ${maxDepth} ranks, each from 0 to ${vocabSize - 1}`;
  }
  if (spec.length > MAX_TREE_NODES) return `a tree of at most ${MAX_TREE_NODES} nodes; this one has ${spec.length}`;
  const keys = new Set<string>();
  for (const path of spec as number[][]) {
    const key = path.join(',');
    if (keys.has(key)) return `${forms}; node [${key}] is given twice`;
    keys.add(key);
  }
  for (const path of spec as number[][]) {
    if (path.length > 1 && !keys.has(path.slice(0, -1).join(','))) return `${forms}; node [${path.join(', ')}] has no parent [${path.slice(0, -1).join(', ')}]`;
  }
  return null;
}

/** What one tree step did for each active row. */
export interface TreeStep extends VerifyOutput {
  /** Each row's reported drafts (TreeShape.reportedPath): the accepted path, then first children to the full depth. */
  drafted: number[][];
  /** When drafting ended and verification began (performance.now()). */
  verifyStarted: number;
}

/**
 * One verification step of every active row with its draft tree: the drafter proposes each row's node
 * tokens, the target scores them in one call, the verifier walks each tree, and the target's cache and
 * features keep the accepted paths (the drafter keeps nothing).
 */
export async function treeStep(
  table: SlotTable,
  tree: TreeShape,
  drafter: { proposeTree(table: SlotTable, tree: TreeShape, vocabSize: number): Promise<Int32Array> },
  target: FullTarget,
  picker: TokenPicker,
): Promise<TreeStep> {
  const B = table.size;
  const V = picker.vocabSize;
  const N = tree.size;
  const trees = table.active.map(() => tree);
  const tokens = await drafter.proposeTree(table, tree, V);
  const verifyStarted = performance.now();
  const logits = await target.scoreTree(table, trees, tokens);
  let verdict: VerifyTreeOutput;
  if (picker.greedy) {
    const targetTokens = new Int32Array(B * N);
    for (let i = 0; i < B * N; i++) targetTokens[i] = argmax(logits, i * V, V);
    verdict = verifyTreeGreedy({ rows: B, trees, tokens, targetTokens });
  } else {
    const p = new Float64Array(B * N * V);
    for (let i = 0; i < B * N; i++) picker.distribution(logits, i * V, p, i * V);
    verdict = verifyTreeSampled({ rows: B, trees, tokens, vocabSize: V, p, uniforms: table.active.map((r) => r.uniform) });
  }
  target.commitTree(table, verdict.paths);
  const drafted = verdict.paths.map((path, s) => tree.reportedPath(tokens, s * N, path));
  return { ...verdict, drafted, verifyStarted };
}
