/** A separate small decoder with the target's vocabulary drafts gamma tokens, one call each. */
import type { Graph } from '../graph.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo, lastIndexOffset } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import { keepAcceptedDrafts, type SlotTable } from '../rows.ts';
import type { Drafter, Proposal } from './types.ts';

export class DraftModelDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];

  constructor(
    private readonly graph: Graph,
    slots: number,
    capacity: number,
    private readonly vocabSize: number,
  ) {
    this.cache = new KvCache(graph.cacheLayers, graph.entry.kv_dim, slots, capacity);
    this.caches = [this.cache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal> {
    const V = this.vocabSize;
    const q = picker.greedy ? null : new Float64Array(table.size * gamma * V);
    for (let i = 0; i < gamma; i++) {
      // The first call also catches up on what the last verification committed (1 or 2 tokens; the prompt at first).
      const result = await feedUpTo(this.graph, this.cache, table, (row) => row.seq.length + i);
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
