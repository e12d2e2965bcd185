/**
 * A separate small decoder with the target's vocabulary drafts gamma tokens, one call each; for one row,
 * where the model has a chain for this gamma (greedy, or sampled with temperature alone), all gamma in
 * one call of the chain graph (the same nodes, so the same drafts; native-models/spear_voice/t2s/chain.py).
 */
import type { Graph } from '../graph.ts';
import { ChainSet } from '../chain-set.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import { keepAcceptedDrafts, type SlotTable } from '../rows.ts';
import { chainFor, proposeChained } from './chain.ts';
import { draftStepwise, ownUniforms } from './stepwise.ts';
import type { DraftLimit, Drafter, Proposal, StrategyEnv, UniformOf } from './types.ts';

export interface DraftModelOptions extends StrategyEnv {
  /** The draft model's graph. */
  graph: Graph;
  /** Chains by gamma (batch 1; greedy, and sampled with temperature alone); default none: every draft is a run of `graph`. */
  chains?: ChainSet;
}

export class DraftModelDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  private readonly graph: Graph;
  private readonly chains: ChainSet;

  constructor(options: DraftModelOptions) {
    this.graph = options.graph;
    this.chains = options.chains ?? ChainSet.empty();
    this.cache = new KvCache(this.graph.cacheLayers, this.graph.entry.kv_dim, options.slots, options.capacity);
    this.caches = [this.cache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    // The chain also returns its drafted positions' keys; commit keeps the accepted ones, as below.
    const chain = await chainFor(this.chains, table, gamma, picker, limit);
    const stepwise = (uniformOf: UniformOf): Promise<Proposal> => this.proposeStepwise(table, gamma, picker, uniformOf, limit);
    return chain ? proposeChained({ chain, cache: this.cache, table, gamma, picker, limit, stepwise }) : stepwise(ownUniforms(table));
  }

  /** One run of the draft model's graph per drafted token. */
  private proposeStepwise(table: SlotTable, gamma: number, picker: TokenPicker, uniformOf: UniformOf, limit?: DraftLimit): Promise<Proposal> {
    return draftStepwise({
      table,
      gamma,
      picker,
      uniformOf,
      limit,
      // The first call also catches up on what the last verification committed (1 or 2 tokens; the prompt at first).
      step: (_i, drafts, end) => feedUpTo(this.graph, this.cache, table, { end, drafts }),
    });
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}
