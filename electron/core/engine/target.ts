/** The target decoder run whole (`full`): the baseline's only graph and the verifier of `draft` and `eagle`. */
import type { Graph } from './graph.ts';
import { KvCache } from './kv-cache.ts';
import { feedUpTo, PositionStore, type FedResult } from './feed.ts';
import { keepAcceptedDrafts, pendingPosition, type Drafts, type SlotTable } from './rows.ts';
import type { StrategyEnv, Target } from './drafters/types.ts';

/** (rows, gamma+1, V) logits of each row's last gamma+1 real indices; no copy when no row was padded. */
export function lastPositions(result: FedResult, rows: number, span: number, vocabSize: number): Float32Array {
  const logits = result.logits!;
  let uniform = result.T === span;
  for (let s = 0; s < rows && uniform; s++) uniform = result.counts[s] === span;
  if (uniform) return logits;
  const out = new Float32Array(rows * span * vocabSize);
  for (let s = 0; s < rows; s++) {
    const src = (s * result.T + result.counts[s] - span) * vocabSize;
    out.set(logits.subarray(src, src + span * vocabSize), s * span * vocabSize);
  }
  return out;
}

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
  private readonly graph: Graph;
  private readonly vocabSize: number;

  constructor(options: FullTargetOptions) {
    const { graph, capacity } = options;
    this.graph = graph;
    this.vocabSize = options.vocabSize;
    this.cache = KvCache.forGraph(graph.entry, options.slots, capacity);
    this.caches = [this.cache];
    this.features = options.keepFeatures ? new PositionStore(graph.hiddenDim, capacity) : null;
  }

  async prefill(table: SlotTable): Promise<void> {
    const result = await feedUpTo(this.graph, this.cache, table, { end: pendingPosition });
    this.features?.storeFed(table, result, result.hidden!);
  }

  async score(table: SlotTable, drafts: Drafts): Promise<Float32Array> {
    const gamma = drafts[0].length;
    const result = await feedUpTo(this.graph, this.cache, table, { end: (row) => row.seq.length + gamma, drafts });
    this.features?.storeFed(table, result, result.hidden!);
    return lastPositions(result, table.size, gamma + 1, this.vocabSize);
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}
