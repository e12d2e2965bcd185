/**
 * Preallocated key/value buffers for one graph, owned by the engine.
 *
 * Layout per cache layer and per K/V: (slots, capacity, kvDim), row-major. A row's used prefix is one
 * contiguous block; a graph call writes only the new tokens' keys at [slot, length …]; rejecting
 * drafts only lowers `lengths[slot]` (nothing is copied). Active rows always occupy slots 0 … active-1:
 * when a row finishes, the last active slot is moved into its place once (`moveSlot`), so a finished
 * row costs no compute. A call with several rows copies each row's used prefix into one scratch block
 * (`pastView`): ONNX Runtime copies the past into its attention anyway, and a block as long as the
 * longest row costs less than one as long as the capacity.
 */
export class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Valid cached positions per slot. */
  readonly lengths: Int32Array;
  private readonly slotSize: number;
  /** Gathered past blocks of a multi-row call (pastView), allocated on first use. */
  private scratch: { keys: Float32Array[]; values: Float32Array[] } | null = null;

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
   * One active row: a view of its used prefix (P = its length). Several: P is the longest row's length;
   * when that is the whole capacity the (active, capacity, kvDim) block is passed as it is, otherwise
   * each slot's first P positions are gathered into a scratch block, so the graph attends over P
   * positions instead of the capacity (a batch of 3 rows cost 2.5× one row when every call carried
   * the capacity). `past_len` masks each shorter row's tail either way.
   */
  pastView(active: number): { keys: Float32Array[]; values: Float32Array[]; pastLength: number } {
    if (active === 1) {
      const end = this.lengths[0] * this.kvDim;
      return { keys: this.keys.map((k) => k.subarray(0, end)), values: this.values.map((v) => v.subarray(0, end)), pastLength: this.lengths[0] };
    }
    let longest = 0;
    for (let s = 0; s < active; s++) longest = Math.max(longest, this.lengths[s]);
    if (longest >= this.capacity) {
      const end = active * this.slotSize;
      return { keys: this.keys.map((k) => k.subarray(0, end)), values: this.values.map((v) => v.subarray(0, end)), pastLength: this.capacity };
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
    return { keys: gather(this.keys, this.scratch.keys), values: gather(this.values, this.scratch.values), pastLength: longest };
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
