/** The target decoder run whole (`full`): the baseline's only graph and the verifier of `draft` and `prophet`. */
import type { Graph } from './graph.ts';
import { KvCache } from './kv-cache.ts';
import { feedUpTo, PositionStore, type FedResult } from './feed.ts';
import { keepAcceptedDrafts, pendingPosition, type SlotTable } from './rows.ts';
import type { Target } from './drafters/types.ts';

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

export class FullTarget implements Target {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  /** The target's final hidden state per position, kept only when a drafter (prophet) reads it. */
  readonly features: PositionStore | null;

  constructor(
    private readonly graph: Graph,
    slots: number,
    capacity: number,
    private readonly vocabSize: number,
    keepFeatures: boolean,
  ) {
    this.cache = KvCache.forGraph(graph.entry, slots, capacity);
    this.caches = [this.cache];
    this.features = keepFeatures ? new PositionStore(graph.hiddenDim, capacity) : null;
  }

  async prefill(table: SlotTable): Promise<void> {
    const result = await feedUpTo(this.graph, this.cache, table, pendingPosition);
    this.features?.storeFed(table, result, result.hidden!);
  }

  async score(table: SlotTable, gamma: number): Promise<Float32Array> {
    const result = await feedUpTo(this.graph, this.cache, table, (row) => row.seq.length + gamma);
    this.features?.storeFed(table, result, result.hidden!);
    return lastPositions(result, table.size, gamma + 1, this.vocabSize);
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}
