/**
 * Preallocated key/value buffers for one graph, owned by the engine.
 *
 * Layout per cache layer and per K/V: (slots, capacity, kvDim), row-major. A row's used prefix is one
 * contiguous block; a graph call writes only the new tokens' keys at [slot, length …]; rejecting
 * drafts only lowers `lengths[slot]` (nothing is copied). Active rows always occupy slots 0 … active-1:
 * when a row finishes, the last active slot is moved into its place once (`moveSlot`), so a finished
 * row costs no compute and no per-step re-gathering is needed.
 */
export class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Valid cached positions per slot. */
  readonly lengths: Int32Array;
  private readonly slotSize: number;

  constructor(
    readonly layers: number,
    readonly kvDim: number,
    readonly slots: number,
    readonly capacity: number,
  ) {
    this.slotSize = capacity * kvDim;
    const size = slots * this.slotSize;
    this.keys = Array.from({ length: layers }, () => new Float32Array(size));
    this.values = Array.from({ length: layers }, () => new Float32Array(size));
    this.lengths = new Int32Array(slots);
  }

  /**
   * The past tensors' data for the first `active` slots, and the past length P the graph sees.
   * One active row: only its used prefix (P = its length). Several: every slot's full capacity, since
   * only the whole (active, capacity, kvDim) block is contiguous; `past_len` masks the unused tail.
   */
  pastView(active: number): { keys: Float32Array[]; values: Float32Array[]; pastLength: number } {
    const pastLength = active === 1 ? this.lengths[0] : this.capacity;
    const end = active === 1 ? pastLength * this.kvDim : active * this.slotSize;
    return {
      keys: this.keys.map((k) => k.subarray(0, end)),
      values: this.values.map((v) => v.subarray(0, end)),
      pastLength,
    };
  }

  /**
   * Copies `count` new tokens' keys/values of batch row `batchRow` (from outputs shaped (B, T, kvDim))
   * into `slot` at its current length, and advances that length.
   */
  append(slot: number, newKeys: readonly Float32Array[], newValues: readonly Float32Array[], batchRow: number, tokensPerRow: number, count: number): void {
    const start = this.lengths[slot];
    if (start + count > this.capacity) {
      throw new RangeError(`KV cache overflow: slot ${slot} holds ${start} of ${this.capacity} positions, ${count} more asked`);
    }
    const dst = slot * this.slotSize + start * this.kvDim;
    const src = batchRow * tokensPerRow * this.kvDim;
    const n = count * this.kvDim;
    for (let layer = 0; layer < this.layers; layer++) {
      this.keys[layer].set(newKeys[layer].subarray(src, src + n), dst);
      this.values[layer].set(newValues[layer].subarray(src, src + n), dst);
    }
    this.lengths[slot] = start + count;
  }

  /** Forgets every position from `length` on (rejected drafts). */
  truncate(slot: number, length: number): void {
    if (length < this.lengths[slot]) this.lengths[slot] = length;
  }

  /** Moves slot `from`'s used prefix into slot `to` (swap-remove of a finished row). */
  moveSlot(from: number, to: number): void {
    const n = this.lengths[from] * this.kvDim;
    const src = from * this.slotSize;
    const dst = to * this.slotSize;
    for (let layer = 0; layer < this.layers; layer++) {
      this.keys[layer].copyWithin(dst, src, src + n);
      this.values[layer].copyWithin(dst, src, src + n);
    }
    this.lengths[to] = this.lengths[from];
    this.lengths[from] = 0;
  }
}
