/**
 * Early exit (self-speculative decoding, LayerSkip-style): the target's first `exit_layer` layers
 * (`trunk`) plus a light `exit_head` draft; verification runs only the layers above (`rest`) on the
 * exit-layer hidden states the trunk already computed. Every token passes through the trunk exactly
 * once, and the trunk's cache is the same cache for drafting and verifying.
 */
import type { Graph } from '../graph.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo, lastIndexOffset, PositionStore } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import { keepAcceptedDrafts, pendingPosition, type RowState, type SlotTable } from '../rows.ts';
import { lastPositions } from '../target.ts';
import type { Drafter, Proposal, Target } from './types.ts';

/** The shared lower layers: one cache and the exit-layer hidden state of every position it has run. */
export class Trunk {
  readonly cache: KvCache;
  readonly hidden: PositionStore;

  constructor(
    private readonly graph: Graph,
    slots: number,
    capacity: number,
  ) {
    this.cache = KvCache.forGraph(graph.entry, slots, capacity);
    this.hidden = new PositionStore(graph.hiddenDim, capacity);
  }

  /** Runs every position below `end(row)` the trunk has not run yet (tokens from seq, then drafts). */
  async advance(table: SlotTable, end: (row: RowState) => number): Promise<void> {
    const result = await feedUpTo(this.graph, this.cache, table, end);
    if (result.T > 0) this.hidden.storeFed(table, result, result.hidden!);
  }

  hiddenAt = (row: RowState, position: number, out: Float32Array, offset: number): void => {
    this.hidden.copyTo(row.id, position, out, offset);
  };
}

export class EarlyExitTarget implements Target {
  readonly restCache: KvCache;
  readonly caches: readonly KvCache[];

  constructor(
    readonly trunk: Trunk,
    private readonly rest: Graph,
    slots: number,
    capacity: number,
    private readonly vocabSize: number,
  ) {
    this.restCache = KvCache.forGraph(rest.entry, slots, capacity);
    this.caches = [trunk.cache, this.restCache];
  }

  async prefill(table: SlotTable): Promise<void> {
    await this.trunk.advance(table, pendingPosition);
    await feedUpTo(this.rest, this.restCache, table, pendingPosition, this.trunk.hiddenAt);
  }

  async score(table: SlotTable, gamma: number): Promise<Float32Array> {
    const end = (row: RowState): number => row.seq.length + gamma;
    // Drafting ran the trunk on the pending token and all drafts but the last; only that one is left.
    await this.trunk.advance(table, end);
    const result = await feedUpTo(this.rest, this.restCache, table, end, this.trunk.hiddenAt);
    return lastPositions(result, table.size, gamma + 1, this.vocabSize);
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}

export class EarlyExitDrafter implements Drafter {
  readonly exitCache: KvCache;
  readonly caches: readonly KvCache[];

  constructor(
    private readonly trunk: Trunk,
    private readonly exitHead: Graph,
    slots: number,
    capacity: number,
    private readonly vocabSize: number,
  ) {
    this.exitCache = new KvCache(exitHead.cacheLayers, exitHead.entry.kv_dim, slots, capacity);
    // The trunk's cache belongs to the target's list; listing it twice would move its slots twice.
    this.caches = [this.exitCache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal> {
    const V = this.vocabSize;
    const q = picker.greedy ? null : new Float64Array(table.size * gamma * V);
    for (let i = 0; i < gamma; i++) {
      const end = (row: RowState): number => row.seq.length + i;
      await this.trunk.advance(table, end);
      if (this.exitHead.cacheLayers === 0) {
        // Without blocks of its own the head needs only the newest hidden state.
        for (let s = 0; s < table.size; s++) this.exitCache.lengths[s] = end(table.active[s]) - 1;
      }
      const result = await feedUpTo(this.exitHead, this.exitCache, table, end, this.trunk.hiddenAt);
      for (let s = 0; s < table.size; s++) {
        const row = table.active[s];
        row.drafts.push(picker.pick(result.logits!, lastIndexOffset(result, s, V), row, q, (s * gamma + i) * V));
      }
    }
    return { q };
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}
