/**
 * The EAGLE drafter (Li et al. 2024, "EAGLE: Speculative Sampling Requires Rethinking Feature
 * Uncertainty"): a small transformer (one block in the shipped voice) whose input at position i is
 * the target's final hidden state at i-1 together with the embedding of token i; the target's frozen
 * head turns its predicted hidden state into a token. The committed part of its cache is always built
 * from the target's true hidden states; while drafting it feeds its own prediction of the next hidden
 * state, and those positions are dropped after verification.
 */
import type { Graph } from '../graph.ts';
import { ChainSet } from '../chain-set.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo, lastIndexOffset, type PositionStore } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import type { RowState, SlotTable } from '../rows.ts';
import { chainFor, proposeChained } from './chain.ts';
import { draftStepwise, ownUniforms } from './stepwise.ts';
import type { DraftLimit, Drafter, Proposal, StrategyEnv, UniformOf } from './types.ts';

export interface EagleOptions extends StrategyEnv {
  /** The EAGLE graph. */
  graph: Graph;
  /** The target's final hidden state per position (FullTarget's features). */
  features: PositionStore;
  /** Chains by gamma (batch 1; greedy, and sampled with temperature alone); default none: every draft is a run of `graph`. */
  chains?: ChainSet;
}

export class EagleDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  private readonly graph: Graph;
  private readonly features: PositionStore;
  private readonly chains: ChainSet;
  /** The drafter's own predicted hidden state of each row's newest drafted position, by row id. */
  private readonly predicted = new Map<number, Float32Array>();

  constructor(options: EagleOptions) {
    this.graph = options.graph;
    this.features = options.features;
    this.chains = options.chains ?? ChainSet.empty();
    this.cache = new KvCache(this.graph.cacheLayers, this.graph.entry.kv_dim, options.slots, options.capacity);
    this.caches = [this.cache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    const chain = await chainFor(this.chains, table, gamma, picker, limit);
    const stepwise = (uniformOf: UniformOf): Promise<Proposal> => this.proposeStepwise(table, gamma, picker, uniformOf, limit);
    if (!chain) return stepwise(ownUniforms(table));
    return proposeChained({ chain, cache: this.cache, table, gamma, picker, limit, stepwise, hiddenAt: this.trueHidden });
  }

  /** One run of the EAGLE graph per drafted token. */
  private proposeStepwise(table: SlotTable, gamma: number, picker: TokenPicker, uniformOf: UniformOf, limit?: DraftLimit): Promise<Proposal> {
    const D = this.graph.hiddenDim;
    const hiddenAt = (row: RowState, position: number, out: Float32Array, offset: number): void => {
      if (position < row.seq.length) this.trueHidden(row, position, out, offset);
      else out.set(this.predicted.get(row.id)!, offset);
    };
    return draftStepwise({
      table,
      gamma,
      picker,
      uniformOf,
      limit,
      step: async (_i, drafts, end) => {
        const result = await feedUpTo(this.graph, this.cache, table, { end, drafts, hiddenAt });
        for (let s = 0; s < table.size; s++) {
          if (result.counts[s] === 0) continue; // a row that stopped drafting
          const h = lastIndexOffset(result, s, D);
          this.predicted.set(table.active[s].id, result.hidden!.slice(h, h + D));
        }
        return result;
      },
    });
  }

  /** Input at `position`: the target's final hidden state at the position before (zeros at 0). */
  private readonly trueHidden = (row: RowState, position: number, out: Float32Array, offset: number): void => {
    if (position === 0) out.fill(0, offset, offset + this.graph.hiddenDim);
    else this.features.copyTo(row.id, position - 1, out, offset);
  };

  commit(table: SlotTable, _accepted: Int32Array): void {
    // Drafted positions were fed predicted features: keep only what was built from the target's own.
    for (let s = 0; s < table.size; s++) this.cache.truncate(s, table.active[s].seq.length);
  }
}
