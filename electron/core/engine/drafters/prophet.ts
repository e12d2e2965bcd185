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
 * Unlike EAGLE, it never reads the target's features at drafted positions nor the row's earlier tokens:
 * h_t is all it knows of the past. One graph run per draft (draftStepwise): greedy, sampled (q is its
 * processed softmax), adaptive gamma and SpecTr's K drafts as every stepwise drafter.
 */
import { assertFiniteLogits, type FedResult, type PositionStore } from '../feed.ts';
import type { Graph } from '../graph.ts';
import { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { SlotTable } from '../rows.ts';
import { draftStepwise, ownUniforms } from './stepwise.ts';
import type { DraftLimit, Drafter, Proposal, StrategyEnv } from './types.ts';

/** The prophet's positions in one step at most: the start token, the pending token and up to 64 drafts. */
const STEP_POSITIONS = 66;

export interface ProphetOptions extends StrategyEnv {
  /** The `seed_prophet` graph. */
  graph: Graph;
  /** The target's final hidden state per position (FullTarget's features). */
  features: PositionStore;
  /** The token the graph reads as the start token start(h_t): the vocabulary's `bos`. */
  startToken: number;
}

export class ProphetDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  private readonly graph: Graph;
  private readonly features: PositionStore;
  private readonly startToken: number;

  constructor(options: ProphetOptions) {
    this.graph = options.graph;
    this.features = options.features;
    this.startToken = options.startToken;
    this.cache = KvCache.forGraph(this.graph.entry, options.slots, Math.min(options.capacity, STEP_POSITIONS));
    this.caches = [this.cache];
  }

  propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    const { graph, cache } = this;
    const B = table.size;
    const D = graph.hiddenDim;
    // Each row's h_t: the target's feature at its last scored position, the one before the pending token
    // (zeros when the prompt is one token and nothing has been scored).
    const h = new Float32Array(B * D);
    for (let s = 0; s < B; s++) {
      const row = table.active[s];
      cache.truncate(s, 0);
      if (row.seq.length >= 2) this.features.copyTo(row.id, row.seq.length - 2, h, s * D);
    }
    return draftStepwise({
      table,
      gamma,
      picker,
      uniformOf: ownUniforms(table),
      limit,
      step: async (_i, drafts, end): Promise<FedResult> => {
        const counts = new Int32Array(B);
        const starts = new Int32Array(B);
        for (let s = 0; s < B; s++) {
          const row = table.active[s];
          // The row's end in the prophet's positions: the start token, the pending token, its drafts so far.
          starts[s] = cache.lengths[s];
          counts[s] = Math.max(0, end(row) - row.seq.length + 2 - starts[s]);
        }
        const result = await graph.run(cache, {
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
        });
        const fed = { ...result, counts, starts };
        assertFiniteLogits(graph, table, fed);
        return fed;
      },
    });
  }

  commit(table: SlotTable, _accepted: Int32Array): void {
    // The next step starts from its own h_t: nothing of this step's cache is kept.
    for (let s = 0; s < table.size; s++) this.cache.truncate(s, 0);
  }
}
