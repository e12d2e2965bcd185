/**
 * Preallocated key/value buffers for one graph, owned by the engine.
 *
 * One buffer per cache layer and per K/V, in the layout the graph's manifest entry names (`kv_layout`,
 * docs/model-contract.md):
 *
 * - "bsd" (the exported graphs): (slots, capacity, kvDim). A call with one active row passes a view of
 *   its used prefix; a call with several copies each row's used prefix into one scratch block
 *   (`pastView`): the exported graphs concatenate the past anyway, and a block as long as the longest
 *   row costs less than one as long as the capacity.
 * - "bnsh" (native-models/spear_voice/t2s/fused.py): (slots, heads, stride, headDim), where `stride` positions per
 *   head are laid out now: it starts at 0 and grows by GROW_STRIDE positions (up to the capacity) when an
 *   append needs room, moving each head's used positions once. Every call passes the first `active`
 *   slots whole, for any number of rows, without a copy; the graph reads the keys where they lie, at
 *   most GROW_STRIDE positions past the longest row instead of the whole capacity, and masks each row's
 *   positions at or past its length.
 *
 * A row's used positions are one contiguous block per head; a graph call writes only the new tokens'
 * keys at [slot, length …]; rejecting drafts only lowers `lengths[slot]` (nothing is copied); a verified
 * draft tree keeps its accepted path by moving those nodes' keys into place (`keepPath`). Active rows
 * always occupy slots 0 … active-1: when a row finishes, the last active slot is moved into its place
 * once (`moveSlot`), so a finished row costs no compute.
 */
import type { GraphEntry } from './manifest.ts';
import type { KvLayout } from './tensor-names.ts';

/**
 * Positions a "bnsh" cache's stride grows by. A graph call reads every laid-out position; regrowing
 * moves each row's used positions once (for a 150-position row of the shipped voice, 1.8 MB every 32
 * positions).
 */
export const GROW_STRIDE = 32;

/** What a graph call reads and writes of a cache (Graph.run): a KvCache, or some of its slots (`KvCache.window`). */
export type GraphCache = Pick<KvCache, 'layers' | 'lengths' | 'tokenAxis' | 'pastView' | 'append'>;

export interface PastView {
  keys: Float32Array[];
  values: Float32Array[];
  /** Past positions the tensors hold per row (P). */
  pastLength: number;
  /** The past tensors' shape: (rows, P, kvDim) or (rows, heads, P, headDim). */
  dims: number[];
}

export class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Valid cached positions per slot. */
  readonly lengths: Int32Array;
  readonly headDim: number;
  /** "bsd": capacity · kvDim. "bnsh": heads · stride · headDim, growing with the stride. */
  private slotSize: number;
  /** "bnsh": positions laid out per head now (≤ capacity). */
  private stride = 0;
  /** Gathered past blocks of a multi-row "bsd" call (pastView), allocated on first use. */
  private scratch: { keys: Float32Array[]; values: Float32Array[] } | null = null;

  constructor(
    readonly layers: number,
    readonly kvDim: number,
    readonly slots: number,
    readonly capacity: number,
    readonly layout: KvLayout = 'bsd',
    /** Attention heads of a "bnsh" cache (kvDim = heads · headDim). */
    readonly heads = 1,
  ) {
    this.headDim = kvDim / heads;
    const size = slots * capacity * kvDim;
    this.slotSize = layout === 'bnsh' ? 0 : capacity * kvDim;
    this.keys = Array.from({ length: layers }, () => new Float32Array(size));
    this.values = Array.from({ length: layers }, () => new Float32Array(size));
    this.lengths = new Int32Array(slots);
  }

  /**
   * The cache a graph reads and writes, in the layout its manifest entry names. A "bnsh" graph reads its
   * rotary table at every position it is fed, so the capacity may not exceed the table's `max_positions`.
   */
  static forGraph(entry: GraphEntry, slots: number, capacity: number): KvCache {
    const layout = entry.kv_layout ?? 'bsd';
    if (layout === 'bnsh' && entry.max_positions !== undefined && capacity > entry.max_positions) {
      throw new RangeError(`${entry.file} covers ${entry.max_positions} positions; this decode needs ${capacity} (prompt + new tokens + gamma + 1)`);
    }
    return new KvCache(entry.cache_layers, entry.kv_dim, slots, capacity, layout, entry.kv_heads ?? 1);
  }

  /** The axis of a new_key/new_value output that counts tokens: (B, T, kvDim) or (B, heads, T, headDim). */
  get tokenAxis(): number {
    return this.layout === 'bnsh' ? 2 : 1;
  }

  /**
   * The past tensors' data for the first `active` slots.
   * "bnsh": the slots' whole blocks (P = the stride), a view, for any number of rows.
   * "bsd", one active row: a view of its used prefix (P = its length). Several: P is the longest row's
   * length; when that is the whole capacity the (active, capacity, kvDim) block is passed as it is,
   * otherwise each slot's first P positions are gathered into a scratch block, so the graph attends over
   * P positions instead of the capacity (a batch of 3 rows cost 2.5× one row when every call carried
   * the capacity). `past_len` masks each shorter row's tail either way.
   */
  pastView(active: number, first = 0): PastView {
    if (this.layout === 'bnsh') {
      const start = first * this.slotSize;
      const end = (first + active) * this.slotSize;
      return {
        keys: this.keys.map((k) => k.subarray(start, end)),
        values: this.values.map((v) => v.subarray(start, end)),
        pastLength: this.stride,
        dims: [active, this.heads, this.stride, this.headDim],
      };
    }
    if (active === 1) {
      // One row, any slot (a call of one row at a time: KvCache.window): a view of its used prefix.
      const P = this.lengths[first];
      const start = first * this.slotSize;
      const end = start + P * this.kvDim;
      return {
        keys: this.keys.map((k) => k.subarray(start, end)),
        values: this.values.map((v) => v.subarray(start, end)),
        pastLength: P,
        dims: [1, P, this.kvDim],
      };
    }
    if (first !== 0) throw new RangeError('a "bsd" cache passes several rows from its first slot');
    let longest = 0;
    for (let s = 0; s < active; s++) longest = Math.max(longest, this.lengths[s]);
    if (longest >= this.capacity) {
      const end = active * this.slotSize;
      return {
        keys: this.keys.map((k) => k.subarray(0, end)),
        values: this.values.map((v) => v.subarray(0, end)),
        pastLength: this.capacity,
        dims: [active, this.capacity, this.kvDim],
      };
    }
    this.scratch ??= {
      keys: this.keys.map((k) => new Float32Array(k.length)),
      values: this.values.map((v) => new Float32Array(v.length)),
    };
    const n = longest * this.kvDim;
    const gather = (from: Float32Array[], to: Float32Array[]): Float32Array[] =>
      from.map((src, layer) => {
        for (let s = 0; s < active; s++) to[layer].set(src.subarray(s * this.slotSize, s * this.slotSize + n), s * n);
        return to[layer].subarray(0, active * n);
      });
    return {
      keys: gather(this.keys, this.scratch.keys),
      values: gather(this.values, this.scratch.values),
      pastLength: longest,
      dims: [active, longest, this.kvDim],
    };
  }

  /**
   * Slots [first, first + count) seen as a cache of their own, for a call that feeds only those rows
   * (a graph whose manifest entry limits its rows per call). Lengths and buffers are shared, not copied.
   */
  window(first: number, count: number): GraphCache {
    if (first + count > this.slots) throw new RangeError(`slots ${first}…${first + count - 1} of ${this.slots}`);
    return {
      layers: this.layers,
      lengths: this.lengths.subarray(first, first + count),
      tokenAxis: this.tokenAxis,
      pastView: (active: number) => this.pastView(active, first),
      append: (slot, newKeys, newValues, batchRow, tokensPerRow, count) => this.append(first + slot, newKeys, newValues, batchRow, tokensPerRow, count),
    };
  }

  /**
   * Copies `count` new tokens' keys/values of batch row `batchRow` into `slot` at its current length, and
   * advances that length. The outputs are (B, T, kvDim) ("bsd") or (B, heads, T, headDim) ("bnsh"), with
   * T = `tokensPerRow`.
   */
  append(slot: number, newKeys: readonly Float32Array[], newValues: readonly Float32Array[], batchRow: number, tokensPerRow: number, count: number): void {
    const start = this.lengths[slot];
    if (start + count > this.capacity) {
      throw new RangeError(`KV cache overflow: slot ${slot} holds ${start} of ${this.capacity} positions, ${count} more asked`);
    }
    if (this.layout === 'bnsh') {
      if (start + count > this.stride) this.grow(start + count);
      const Dh = this.headDim;
      const n = count * Dh;
      for (let h = 0; h < this.heads; h++) {
        const src = (batchRow * this.heads + h) * tokensPerRow * Dh;
        const dst = slot * this.slotSize + (h * this.stride + start) * Dh;
        for (let layer = 0; layer < this.layers; layer++) {
          this.keys[layer].set(newKeys[layer].subarray(src, src + n), dst);
          this.values[layer].set(newValues[layer].subarray(src, src + n), dst);
        }
      }
    } else {
      const dst = slot * this.slotSize + start * this.kvDim;
      const src = batchRow * tokensPerRow * this.kvDim;
      const n = count * this.kvDim;
      for (let layer = 0; layer < this.layers; layer++) {
        this.keys[layer].set(newKeys[layer].subarray(src, src + n), dst);
        this.values[layer].set(newValues[layer].subarray(src, src + n), dst);
      }
    }
    this.lengths[slot] = start + count;
  }

  /**
   * Lays a "bnsh" cache out for `positions` positions per row now (no-op for "bsd", or when it already
   * is): for a caller that sets `lengths` itself, as calibration's timing does. A graph that reads
   * positions below a row's length where they lie (GroupQueryAttention) needs them laid out.
   */
  reserve(positions: number): void {
    if (this.layout === 'bnsh' && positions > this.stride) this.grow(Math.min(positions, this.capacity));
  }

  /**
   * Lays each head out with room for `needed` positions (rounded up to GROW_STRIDE, at most the
   * capacity), moving the used positions of every slot. Blocks only move to higher offsets, so going
   * from the last block to the first never overwrites one not yet moved.
   */
  private grow(needed: number): void {
    const from = this.stride;
    const to = Math.min(this.capacity, Math.ceil(needed / GROW_STRIDE) * GROW_STRIDE);
    const Dh = this.headDim;
    for (let slot = this.slots - 1; slot >= 0; slot--) {
      const n = this.lengths[slot] * Dh;
      if (n === 0) continue;
      for (let h = this.heads - 1; h >= 0; h--) {
        const src = (slot * this.heads + h) * from * Dh;
        const dst = (slot * this.heads + h) * to * Dh;
        for (let layer = 0; layer < this.layers; layer++) {
          this.keys[layer].copyWithin(dst, src, src + n);
          this.values[layer].copyWithin(dst, src, src + n);
        }
      }
    }
    this.stride = to;
    this.slotSize = this.heads * to * Dh;
  }

  /**
   * Keeps one path of a verified draft tree: for i = 0 … n−1 the keys/values at `start + nodes[i]` move to
   * `start + i`, and the slot's length becomes `start + n`. The call fed the tree's nodes at positions
   * start, start + 1, … in their order; `nodes` rises with nodes[i] ≥ i (breadth-first order), so every
   * source is read before a later move could overwrite it. Rejected nodes are forgotten like rejected drafts.
   */
  keepPath(slot: number, start: number, nodes: ArrayLike<number>): void {
    const n = nodes.length;
    if (start + n > this.lengths[slot])
      throw new RangeError(`keepPath: slot ${slot} holds ${this.lengths[slot]} positions, a path of ${n} from ${start} was asked`);
    const blocks = this.layout === 'bnsh' ? this.heads : 1;
    const stride = this.slotSize / blocks;
    const width = this.kvDim / blocks;
    for (let i = 0; i < n; i++) {
      const from = start + nodes[i];
      const to = start + i;
      if (nodes[i] < i || from >= this.lengths[slot]) throw new RangeError(`keepPath: node ${nodes[i]} cannot be the path's entry ${i}`);
      if (from === to) continue;
      for (let b = 0; b < blocks; b++) {
        const base = slot * this.slotSize + b * stride;
        for (let layer = 0; layer < this.layers; layer++) {
          this.keys[layer].copyWithin(base + to * width, base + from * width, base + (from + 1) * width);
          this.values[layer].copyWithin(base + to * width, base + from * width, base + (from + 1) * width);
        }
      }
    }
    this.lengths[slot] = start + n;
  }

  /** Forgets every position from `length` on (rejected drafts). */
  truncate(slot: number, length: number): void {
    if (length < this.lengths[slot]) this.lengths[slot] = length;
  }

  /** Moves slot `from`'s used positions into slot `to` (swap-remove of a finished row). */
  moveSlot(from: number, to: number): void {
    this.copySlot(from, to);
    this.lengths[from] = 0;
  }

  /**
   * Makes slot `to` hold what slot `from` holds: copies positions [start, length of `from`) and sets the
   * length. Positions below `start` are not copied: the caller knows the two slots agree there (SpecTr's
   * drafts of one row share the row's committed positions, electron/core/engine/spectr.ts).
   */
  copySlot(from: number, to: number, start = 0): void {
    // A "bnsh" slot is `heads` blocks of the stride, each used up to the length; "bsd" is one block.
    const blocks = this.layout === 'bnsh' ? this.heads : 1;
    const stride = this.slotSize / blocks;
    const width = this.kvDim / blocks;
    const begin = Math.min(start, this.lengths[from]) * width;
    const end = this.lengths[from] * width;
    for (let b = 0; b < blocks; b++) {
      const src = from * this.slotSize + b * stride;
      const dst = to * this.slotSize + b * stride;
      for (let layer = 0; layer < this.layers; layer++) {
        this.keys[layer].copyWithin(dst + begin, src + begin, src + end);
        this.values[layer].copyWithin(dst + begin, src + begin, src + end);
      }
    }
    this.lengths[to] = this.lengths[from];
  }
}
