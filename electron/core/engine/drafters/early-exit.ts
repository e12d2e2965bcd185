/**
 * Early exit (self-speculative decoding, LayerSkip-style): the target's first `exit_layer` layers
 * (`trunk`) plus a light `exit_head` draft; verification runs only the layers above (`rest`) on the
 * exit-layer hidden states the trunk already computed. Every token passes through the trunk exactly
 * once, and the trunk's cache is the same cache for drafting and verifying.
 *
 * Recycling (an exit head whose manifest entry says "recycle": true; native-models/spear_voice/t2s/recycle.py):
 * the head also reads the target's final feature h_c of the step's start c, the last position the target
 * scored (`rest`'s hidden_out, which the target then keeps per position), at every position it drafts from.
 * A position the target has already scored when the head first sees it (the prompt, and a step's last draft
 * when every draft was accepted) reads the feature of the position before it, a step of one token. The
 * feature only changes what is drafted; verification is the same, so decoding stays exact.
 */
import type { Graph } from '../graph.ts';
import { KvCache } from '../kv-cache.ts';
import { feedUpTo, PositionStore, type HiddenSource } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import { keepAcceptedDrafts, pendingPosition, type Drafts, type RowState, type SlotTable } from '../rows.ts';
import { lastPositions, scoredEnd } from '../target.ts';
import { draftStepwise, ownUniforms } from './stepwise.ts';
import type { DraftLimit, Drafter, Proposal, StrategyEnv, Target } from './types.ts';

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

  /** Runs every position below `end(row)` the trunk has not run yet (tokens from seq, then `drafts`). */
  async advance(table: SlotTable, end: (row: RowState) => number, drafts?: Drafts): Promise<void> {
    const result = await feedUpTo(this.graph, this.cache, table, { end, drafts });
    if (result.T > 0) this.hidden.storeFed(table, result, result.hidden!);
  }

  hiddenAt = (row: RowState, position: number, out: Float32Array, offset: number): void => {
    this.hidden.copyTo(row.id, position, out, offset);
  };
}

export interface EarlyExitOptions extends StrategyEnv {
  /** The layers below the exit layer, shared by the target and the drafter. */
  trunk: Trunk;
  /** `rest` for the target, `exit_head` for the drafter. */
  graph: Graph;
}

export interface EarlyExitTargetOptions extends EarlyExitOptions {
  /** Keep `rest`'s final feature of every position (an exit head with recycling reads them). Default false. */
  keepFeatures?: boolean;
}

export interface EarlyExitDrafterOptions extends EarlyExitOptions {
  /** The target's final feature per position (EarlyExitTarget's features): required by an exit head that recycles. */
  features?: PositionStore;
}

export class EarlyExitTarget implements Target {
  readonly restCache: KvCache;
  readonly caches: readonly KvCache[];
  readonly stores: readonly PositionStore[];
  readonly trunk: Trunk;
  /** The target's final feature per position, kept only when the exit head recycles it. */
  readonly features: PositionStore | null;
  private readonly rest: Graph;
  private readonly vocabSize: number;

  constructor(options: EarlyExitTargetOptions) {
    this.trunk = options.trunk;
    this.rest = options.graph;
    this.vocabSize = options.vocabSize;
    this.restCache = KvCache.forGraph(this.rest.entry, options.slots, options.capacity);
    this.caches = [this.trunk.cache, this.restCache];
    this.features = options.keepFeatures ? new PositionStore(this.rest.hiddenDim, options.capacity) : null;
    this.stores = this.features ? [this.trunk.hidden, this.features] : [this.trunk.hidden];
  }

  async prefill(table: SlotTable): Promise<void> {
    await this.trunk.advance(table, pendingPosition);
    const result = await feedUpTo(this.rest, this.restCache, table, { end: pendingPosition, hiddenAt: this.trunk.hiddenAt });
    if (result.T > 0) this.features?.storeFed(table, result, result.hidden!);
  }

  async score(table: SlotTable, drafts: Drafts, gamma: number): Promise<Float32Array> {
    const end = scoredEnd(table, drafts);
    // Drafting ran the trunk on the pending token and all drafts but the last; only that one is left.
    await this.trunk.advance(table, end, drafts);
    const result = await feedUpTo(this.rest, this.restCache, table, { end, drafts, hiddenAt: this.trunk.hiddenAt });
    this.features?.storeFed(table, result, result.hidden!);
    return lastPositions(result, drafts, gamma, this.vocabSize);
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}

export class EarlyExitDrafter implements Drafter {
  readonly exitCache: KvCache;
  readonly caches: readonly KvCache[];
  private readonly trunk: Trunk;
  private readonly exitHead: Graph;
  private readonly recycleAt: HiddenSource | undefined;

  constructor(options: EarlyExitDrafterOptions) {
    this.trunk = options.trunk;
    this.exitHead = options.graph;
    if (this.exitHead.hasRecycle) {
      const features = options.features;
      if (!features) throw new TypeError(`the exit head ${this.exitHead.entry.file} recycles the target's features; pass them`);
      const width = features.width;
      this.recycleAt = (row, position, out, offset) => {
        // c: the last position the target scored, before the pending token (-1 for a one-token prompt).
        const c = row.seq.length - 2;
        const source = position <= c ? position - 1 : c;
        if (source < 0) out.fill(0, offset, offset + width);
        else features.copyTo(row.id, source, out, offset);
      };
    }
    this.exitCache = new KvCache(this.exitHead.cacheLayers, this.exitHead.entry.kv_dim, options.slots, options.capacity);
    // The trunk's cache belongs to the target's list; listing it twice would move its slots twice.
    this.caches = [this.exitCache];
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    return draftStepwise({
      table,
      gamma,
      picker,
      uniformOf: ownUniforms(table),
      limit,
      step: async (_i, drafts, end) => {
        await this.trunk.advance(table, end, drafts);
        if (this.exitHead.cacheLayers === 0) {
          // Without blocks of its own the head needs only the newest hidden state.
          for (let s = 0; s < table.size; s++) this.exitCache.lengths[s] = end(table.active[s]) - 1;
        }
        return feedUpTo(this.exitHead, this.exitCache, table, { end, drafts, hiddenAt: this.trunk.hiddenAt, recycleAt: this.recycleAt });
      },
    });
  }

  commit(table: SlotTable, accepted: Int32Array): void {
    keepAcceptedDrafts(table, accepted, this.caches);
  }
}
