/**
 * The prophet drafter (EAGLE / ProphetNet style): a small transformer whose input at position i is
 * the target's final hidden state at i-1 together with token i. The committed part of its cache is
 * always built from the target's true hidden states; while drafting it feeds its own prediction of
 * the next hidden state, and those positions are dropped after verification.
 */
import type { Graph } from '../graph.ts';
import { ChainSet } from '../chain-set.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo, lastIndexOffset, type PositionStore } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import type { RowState, SlotTable } from '../rows.ts';
import { chainFor, proposeChained } from './chain.ts';
import type { Drafter, Proposal } from './types.ts';

export class ProphetDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  /** The prophet's own predicted hidden state of each row's newest drafted position, by row id. */
  private readonly predicted = new Map<number, Float32Array>();

  constructor(
    private readonly graph: Graph,
    private readonly features: PositionStore,
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
    const chain = await chainFor(this.chains, table, gamma, picker);
    const stepwise = (): Promise<Proposal> => this.proposeStepwise(table, gamma, picker);
    if (chain) return proposeChained(chain, this.cache, table, gamma, picker, stepwise, (row, position, out, offset) => this.trueHidden(row, position, out, offset));
    return stepwise();
  }

  /** One run of the prophet's graph per drafted token. */
  private async proposeStepwise(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal> {
    const V = this.vocabSize;
    const D = this.graph.hiddenDim;
    const q = picker.greedy ? null : new Float64Array(table.size * gamma * V);
    for (let i = 0; i < gamma; i++) {
      const end = (row: RowState): number => row.seq.length + i;
      const hiddenAt = (row: RowState, position: number, out: Float32Array, offset: number): void => {
        if (position < row.seq.length) this.trueHidden(row, position, out, offset);
        else out.set(this.predicted.get(row.id)!, offset);
      };
      const result = await feedUpTo(this.graph, this.cache, table, end, hiddenAt);
      for (let s = 0; s < table.size; s++) {
        const row = table.active[s];
        const h = lastIndexOffset(result, s, D);
        this.predicted.set(row.id, result.hidden!.slice(h, h + D));
        row.drafts.push(picker.pick(result.logits!, lastIndexOffset(result, s, V), row, q, (s * gamma + i) * V));
      }
    }
    return { q };
  }

  /** Input at `position`: the target's final hidden state at the position before (zeros at 0). */
  private trueHidden(row: RowState, position: number, out: Float32Array, offset: number): void {
    if (position === 0) out.fill(0, offset, offset + this.graph.hiddenDim);
    else this.features.copyTo(row.id, position - 1, out, offset);
  }

  commit(table: SlotTable, _accepted: Int32Array): void {
    // Drafted positions were fed predicted features: keep only what was built from the target's own.
    for (let s = 0; s < table.size; s++) this.cache.truncate(s, table.active[s].seq.length);
  }
}
