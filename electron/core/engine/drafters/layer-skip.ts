/**
 * Self-speculation (Draft & Verify, Zhang et al. 2023): the target with some of its sublayers skipped
 * drafts, one run of the `layer_skip` graph per drafted token, and `full` verifies. The graph reads the
 * target's embedding, kept blocks and head (native-models/spear_voice/t2s/layer_skip.py), and keeps its
 * own cache for the blocks that attend: their keys come from its own residual stream, not the target's,
 * so it cannot share `full`'s cache. The same shape as the draft model.
 */
import type { Graph } from '../graph.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import { keepAcceptedDrafts, type SlotTable } from '../rows.ts';
import { draftStepwise, ownUniforms } from './stepwise.ts';
import type { Drafter, Proposal, StrategyEnv } from './types.ts';

export interface LayerSkipOptions extends StrategyEnv {
  /** The `layer_skip` graph. */
  graph: Graph;
}

export class LayerSkipDrafter implements Drafter {
  readonly cache: KvCache;
  readonly caches: readonly KvCache[];
  private readonly graph: Graph;

  constructor(options: LayerSkipOptions) {
    this.graph = options.graph;
    this.cache = KvCache.forGraph(this.graph.entry, options.slots, options.capacity);
    this.caches = [this.cache];
  }

  propose(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal> {
    return draftStepwise({
      table,
      gamma,
      picker,
      uniformOf: ownUniforms(table),
      // The first call also catches up on what the last verification committed (1 or 2 tokens; the prompt at first).
      step: (i, drafts) => feedUpTo(this.graph, this.cache, table, { end: (row) => row.seq.length + i, drafts }),
    });
  }

  /**
   * The drafts the target accepted were fed here as the tokens they are, so their keys stay; the rest are
   * forgotten. What the cache has not seen (the target's own token, and the last draft when every draft
   * was accepted) is fed at the next step's first call.
   */
  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}
