/**
 * Draft trees (Medusa, Cai et al. 2024, section 2.1.2; SpecInfer's token trees): the shape of one row's
 * tree of candidates, verified in one target call with a tree attention mask.
 *
 * A tree is given as the candidates kept per depth, `[k_1, …, k_d]`: every node at depth i − 1 has
 * k_i children, the k_i most likely tokens of the drafter's distribution for depth i (Medusa: head i's top
 * k_i). `[1, 1, 1]` is the chain of γ = 3; `[3, 2, 1]` has 3 + 3·2 + 3·2·1 = 15 nodes. Node 0 is the row's
 * pending token; the others follow breadth-first, each parent's children together, in their rank
 * order, so a node's index is never below its depth and a child's is above its parent's.
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

export class TreeShape {
  /** Nodes including the root (the pending token): the positions a verifying call scores per row. */
  readonly size: number;
  /** d: the depth of the deepest nodes, the most drafts a step can accept. */
  readonly depth: number;
  readonly parents: Int32Array;
  readonly depths: Int32Array;
  /** Node n's children are firstChild[n] … firstChild[n] + childCount[n] − 1. */
  readonly firstChild: Int32Array;
  readonly childCount: Int32Array;
  /** Rank of node n among its siblings (0 = the most likely candidate of its depth). */
  readonly ranks: Int32Array;

  /** `topK[i]`: children of every node at depth i (the root's at 0). Check it with `treeProblem` first. */
  constructor(readonly topK: readonly number[]) {
    let size = 1;
    let width = 1;
    for (const k of topK) {
      width *= k;
      size += width;
    }
    this.size = size;
    this.depth = topK.length;
    this.parents = new Int32Array(size).fill(-1);
    this.depths = new Int32Array(size);
    this.firstChild = new Int32Array(size);
    this.childCount = new Int32Array(size);
    this.ranks = new Int32Array(size);
    let next = 1;
    // Breadth first: the nodes of each depth in order, each one's children appended together.
    for (let n = 0; n < size; n++) {
      const d = this.depths[n];
      const k = d < topK.length ? topK[d] : 0;
      this.firstChild[n] = next;
      this.childCount[n] = k;
      for (let r = 0; r < k; r++, next++) {
        this.parents[next] = n;
        this.depths[next] = d + 1;
        this.ranks[next] = r;
      }
    }
  }

  /** Whether node t attends node u: u is t itself or one of its ancestors. */
  attends(t: number, u: number): boolean {
    for (let n = t; n >= u; n = this.parents[n]) if (n === u) return true;
    return false;
  }

  /**
   * The path of `nodes`' last node extended to the full depth through each node's first child: the d
   * tokens a step reports as drafted (stats.ts), of which the accepted path is the start.
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

/**
 * Why `topK` is not a tree this model can draft (null when it is): 1 to `maxDepth` depths (Medusa: its
 * heads), each an integer from 1 to `vocabSize`, at most MAX_TREE_NODES nodes besides the root.
 */
export function treeProblem(topK: unknown, maxDepth: number, vocabSize: number): string | null {
  const ints = `a list of 1 to ${maxDepth} integers (candidates per depth, e.g. [3, 2, 1])`;
  if (!Array.isArray(topK) || topK.length === 0 || topK.length > maxDepth) return `${ints}: one depth per head, and this model's medusa graph has ${maxDepth}`;
  if (!topK.every((k) => Number.isInteger(k) && k >= 1 && k <= vocabSize)) return `${ints}, each from 1 to the vocabulary's ${vocabSize}`;
  let nodes = 0;
  let width = 1;
  for (const k of topK as number[]) nodes += width *= k;
  if (nodes > MAX_TREE_NODES) return `a tree of at most ${MAX_TREE_NODES} nodes; [${topK.join(', ')}] has ${nodes}`;
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
