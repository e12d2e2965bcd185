/**
 * The seed's prophet (docs/research.md; native-models/spear_voice/t2s/seed_prophet.py): a separate small
 * decoder that drafts from the target's final feature h_t alone. When the target has scored a row up to
 * position t (its pending token x_{t+1} is the newest committed one), the prophet's sequence within the step
 * is
 *
 *     [start(h_t), x_{t+1}, draft 1, draft 2, …]   at its own positions 0, 1, 2, …
 *
 * where `bos` stands for the start token and the graph computes start(h_t) from hidden_in. Its first call
 * reads [bos, x_{t+1}] and its logits at position 1 give draft 1; each later call reads the previous draft.
 * Its cache lives within the step: every step starts again from the new h_t, so `commit` forgets it all.
 *
 * Unlike EAGLE, whose cache holds the whole sentence built from the target's features, it never reads the
 * row's earlier tokens: h_t is all it knows of the past. One graph run per draft (draftStepwise): greedy, sampled (q is its
 * processed softmax), adaptive gamma and SpecTr's K drafts as every stepwise drafter; one row drafts
 * through a chain where the voice has one (drafters/chain.ts: the chain's catch-up is the step's first call).
 */
import { ChainSet } from '../chain-set.ts';
import { assertFiniteLogits, type FedResult, type PositionStore } from '../feed.ts';
import type { Graph, GraphFeed } from '../graph.ts';
import { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { Drafts, RowState, SlotTable } from '../rows.ts';
import { chainFor, proposeChained } from './chain.ts';
import { draftStepwise, ownUniforms } from './stepwise.ts';
import type { DraftLimit, Drafter, Proposal, StrategyEnv, UniformOf } from './types.ts';

/** The prophet's positions in one step at most: the start token, the pending token and up to 64 drafts. */
const STEP_POSITIONS = 66;

export interface ProphetOptions extends StrategyEnv {
  /** The `seed_prophet` graph. */
  graph: Graph;
  /** The target's final hidden state per position (FullTarget's features). */
  features: PositionStore;
  /** The token the graph reads as the start token start(h_t): the vocabulary's `bos`. */
  startToken: number;
  /** Chains by gamma (batch 1; greedy, and sampled with temperature alone); default none: every draft is a run of `graph`. */
  chains?: ChainSet;
}

export class ProphetDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  private readonly graph: Graph;
  private readonly features: PositionStore;
  private readonly startToken: number;
  private readonly chains: ChainSet;

  constructor(options: ProphetOptions) {
    this.graph = options.graph;
    this.features = options.features;
    this.startToken = options.startToken;
    this.chains = options.chains ?? ChainSet.empty();
    this.cache = KvCache.forGraph(this.graph.entry, options.slots, Math.min(options.capacity, STEP_POSITIONS));
    this.caches = [this.cache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    const D = this.graph.hiddenDim;
    // Each row's h_t: the target's feature at its last scored position, the one before the pending token
    // (zeros when the prompt is one token and nothing has been scored).
    const h = new Float32Array(table.size * D);
    for (let s = 0; s < table.size; s++) {
      const row = table.active[s];
      this.cache.truncate(s, 0);
      if (row.seq.length >= 2) this.features.copyTo(row.id, row.seq.length - 2, h, s * D);
    }
    const stepwise = (uniformOf: UniformOf): Promise<Proposal> =>
      draftStepwise({ table, gamma, picker, uniformOf, limit, step: (_i, drafts, end) => this.feed(this.graph, table, h, drafts, end) });
    const chain = await chainFor(this.chains, table, gamma, picker, limit);
    if (!chain) return stepwise(ownUniforms(table));
    // The chain's catch-up is the step's first call, [bos, x_{t+1}]; its steps draft the rest.
    const pending = (row: RowState): number => row.seq.length;
    const feed = (graph: Graph, sampling?: GraphFeed['sampling']): Promise<FedResult> => this.feed(graph, table, h, [[]], pending, sampling);
    return proposeChained({ chain, cache: this.cache, table, gamma, picker, limit, stepwise, feed });
  }

  /**
   * Feeds each row its prophet positions from its cache's length up to its end: `end(row)` counts the row's
   * committed tokens and its drafts so far, so the prophet's end is 2 (the start and pending tokens) + drafts.
   */
  private async feed(
    graph: Graph,
    table: SlotTable,
    h: Float32Array,
    drafts: Drafts,
    end: (row: RowState) => number,
    sampling?: GraphFeed['sampling'],
  ): Promise<FedResult> {
    const B = table.size;
    const D = this.graph.hiddenDim;
    const counts = new Int32Array(B);
    const starts = new Int32Array(B);
    for (let s = 0; s < B; s++) {
      const row = table.active[s];
      starts[s] = this.cache.lengths[s];
      counts[s] = Math.max(0, end(row) - row.seq.length + 2 - starts[s]);
    }
    const result = await graph.run(this.cache, {
      rows: B,
      counts,
      rowIds: table.ids,
      tokenAt: (s, i) => {
        const position = starts[s] + i;
        const row = table.active[s];
        return position === 0 ? this.startToken : position === 1 ? row.seq[row.seq.length - 1] : drafts[s][position - 2];
      },
      // Every new token carries h_t; the graph reads it only where the token is the start token.
      hiddenAt: (s, _i, out, offset) => out.set(h.subarray(s * D, (s + 1) * D), offset),
      sampling,
    });
    const fed = { ...result, counts, starts };
    assertFiniteLogits(graph, table, fed);
    return fed;
  }

  commit(table: SlotTable, _accepted: Int32Array): void {
    // The next step starts from its own h_t: nothing of this step's cache is kept.
    for (let s = 0; s < table.size; s++) this.cache.truncate(s, 0);
  }
}
