/** The target decoder run whole (`full`): the baseline's only graph and the verifier of `draft` and `eagle`. */
import type { Graph } from './graph.ts';
import { KvCache } from './kv-cache.ts';
import { feedUpTo, PositionStore, type FedResult } from './feed.ts';
import { keepAcceptedDrafts, pendingPosition, type Drafts, type RowState, type SlotTable } from './rows.ts';
import type { StrategyEnv, Target } from './drafters/types.ts';
import type { TreeShape } from './tree.ts';

/**
 * (rows, gamma+1, V) logits: each slot's last drafts+1 real indices (the pending position and its
 * drafts), at the start of its block; no copy when every slot was fed exactly gamma+1 positions.
 */
export function lastPositions(result: FedResult, drafts: Drafts, gamma: number, vocabSize: number): Float32Array {
  const logits = result.logits!;
  const rows = drafts.length;
  const span = gamma + 1;
  let uniform = result.T === span;
  for (let s = 0; s < rows && uniform; s++) uniform = result.counts[s] === span && drafts[s].length === gamma;
  if (uniform) return logits;
  const out = new Float32Array(rows * span * vocabSize);
  for (let s = 0; s < rows; s++) {
    const n = drafts[s].length + 1;
    const src = (s * result.T + result.counts[s] - n) * vocabSize;
    out.set(logits.subarray(src, src + n * vocabSize), s * span * vocabSize);
  }
  return out;
}

/** Each row's sequence followed by its drafts this step: the positions a score call feeds, up to its end. */
export const scoredEnd =
  (table: SlotTable, drafts: Drafts): ((row: RowState) => number) =>
  (row) =>
    row.seq.length + drafts[table.active.indexOf(row)].length;

export interface FullTargetOptions extends StrategyEnv {
  /** The `full` graph. */
  graph: Graph;
  /** Keep the final hidden state of every position (EAGLE reads them). Default false. */
  keepFeatures?: boolean;
}

export class FullTarget implements Target {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  /** The target's final hidden state per position, kept only when a drafter (eagle) reads it. */
  readonly features: PositionStore | null;
  readonly stores: readonly PositionStore[];
  private readonly graph: Graph;
  private readonly vocabSize: number;

  constructor(options: FullTargetOptions) {
    const { graph, capacity } = options;
    this.graph = graph;
    this.vocabSize = options.vocabSize;
    this.cache = KvCache.forGraph(graph.entry, options.slots, capacity);
    this.caches = [this.cache];
    this.features = options.keepFeatures ? new PositionStore(graph.hiddenDim, capacity) : null;
    this.stores = this.features ? [this.features] : [];
  }

  async prefill(table: SlotTable): Promise<void> {
    const result = await feedUpTo(this.graph, this.cache, table, { end: pendingPosition });
    this.features?.storeFed(table, result, result.hidden!);
  }

  async score(table: SlotTable, drafts: Drafts, gamma: number): Promise<Float32Array> {
    const result = await feedUpTo(this.graph, this.cache, table, { end: scoredEnd(table, drafts), drafts });
    this.features?.storeFed(table, result, result.hidden!);
    return lastPositions(result, drafts, gamma, this.vocabSize);
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }

  /**
   * Scores each row's draft tree (tree.ts) in one call: `tokens` (rows, N) holds each row's nodes, node 0
   * its pending token. Returns the logits at every node, (rows, N, V). The graph must read tree_mask.
   */
  async scoreTree(table: SlotTable, trees: readonly TreeShape[], tokens: Int32Array): Promise<Float32Array> {
    const N = tokens.length / table.size;
    for (let s = 0; s < table.size; s++) {
      // The call feeds exactly the tree: the pending token is the first position the cache lacks.
      if (this.cache.lengths[s] !== table.active[s].seq.length - 1)
        throw new RangeError(`row ${table.active[s].id}: a tree is scored from the pending token on`);
    }
    const drafts = table.active.map((_, s) => Array.from(tokens.subarray(s * N + 1, s * N + trees[s].size)));
    const result = await feedUpTo(this.graph, this.cache, table, { end: scoredEnd(table, drafts), drafts, trees });
    this.features?.storeFed(table, result, result.hidden!);
    if (result.T === N) return result.logits!;
    const V = this.vocabSize;
    const out = new Float32Array(table.size * N * V);
    for (let s = 0; s < table.size; s++) out.set(result.logits!.subarray(s * result.T * V, (s * result.T + trees[s].size) * V), s * N * V);
    return out;
  }

  /**
   * After a tree's verification, before the accepted tokens are appended: the cache and the features keep
   * the pending token and the accepted path's nodes (`paths[slot]`, by depth) at consecutive positions.
   */
  commitTree(table: SlotTable, paths: readonly (readonly number[])[]): void {
    for (let s = 0; s < table.size; s++) {
      const row = table.active[s];
      const start = row.seq.length - 1;
      const nodes = [0, ...paths[s]];
      this.cache.keepPath(s, start, nodes);
      this.features?.keepPath(row.id, start, nodes);
    }
  }
}
