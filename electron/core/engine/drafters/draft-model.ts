/**
 * A separate small decoder with the target's vocabulary drafts gamma tokens, one call each; for one row,
 * where the model has a chain for this gamma (greedy, or sampled with temperature alone), all gamma in
 * one call of the chain graph (the same nodes, so the same drafts; native-models/spear_voice/t2s/chain.py).
 */
import type { Graph } from '../graph.ts';
import { ChainSet } from '../chain-set.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo, lastIndexOffset } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import { keepAcceptedDrafts, type SlotTable } from '../rows.ts';
import { chainFor, proposeChained } from './chain.ts';
import type { Drafter, Proposal } from './types.ts';

export class DraftModelDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];

  constructor(
    private readonly graph: Graph,
    slots: number,
    capacity: number,
    private readonly vocabSize: number,
    /** Chains by gamma (batch 1; greedy, and sampled with temperature alone); empty: every draft is a run of `graph`. */
    private readonly chains: ChainSet = ChainSet.empty(),
  ) {
    this.cache = new KvCache(graph.cacheLayers, graph.entry.kv_dim, slots, capacity);
    this.caches = [this.cache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal> {
    // The chain also returns its drafted positions' keys; commit keeps the accepted ones, as below.
    const chain = await chainFor(this.chains, table, gamma, picker);
    const stepwise = (): Promise<Proposal> => this.proposeStepwise(table, gamma, picker);
    return chain ? proposeChained(chain, this.cache, table, gamma, picker, stepwise) : stepwise();
  }

  /** One run of the draft model's graph per drafted token. */
  private async proposeStepwise(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal> {
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
