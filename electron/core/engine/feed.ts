/** Feeding a graph the part of each row's (extended) sequence its cache has not seen yet. */
import { NonFiniteLogitsError } from '../errors.ts';
import type { Graph, GraphFeed, GraphResult } from './graph.ts';
import type { KvCache } from './kv-cache.ts';
import { tokenAt, type Drafts, type RowState, type SlotTable } from './rows.ts';

export interface FedResult extends GraphResult {
  /** New tokens fed per slot. */
  counts: Int32Array;
  /** Position of each slot's first new token. */
  starts: Int32Array;
}

/** Writes the hidden_in vector of `row` at absolute `position` into `out` at `offset`. */
export type HiddenSource = (row: RowState, position: number, out: Float32Array, offset: number) => void;

export interface FeedOptions {
  /** Each row is fed the positions [cache length, end(row)). */
  end: (row: RowState) => number;
  /** Tokens past each slot's committed sequence (this step's drafts, by slot); default none. */
  drafts?: Drafts;
  /** The hidden_in vectors, for graphs that read them. */
  hiddenAt?: HiddenSource;
  /** The recycle_in vectors, for an exit head with recycling. */
  recycleAt?: HiddenSource;
  /** A sampled chain's uniforms and temperature. */
  sampling?: GraphFeed['sampling'];
  /** Each slot's draft tree, fed as its drafts (GraphFeed.trees). */
  trees?: GraphFeed['trees'];
}

/**
 * Feeds each active row the tokens at positions [cache length, end(row)) and, for graphs that read
 * hidden states, the vectors `hiddenAt` gives. Every logit the call returns for a real (unpadded)
 * position is checked: a NaN or an infinity is a NonFiniteLogitsError naming the graph and the row,
 * never a silent argmax or draw.
 */
export async function feedUpTo(graph: Graph, cache: KvCache, table: SlotTable, options: FeedOptions): Promise<FedResult> {
  const { end, drafts, hiddenAt, recycleAt, sampling, trees } = options;
  const rows = table.size;
  const counts = new Int32Array(rows);
  const starts = new Int32Array(rows);
  for (let s = 0; s < rows; s++) {
    starts[s] = cache.lengths[s];
    counts[s] = Math.max(0, end(table.active[s]) - starts[s]);
  }
  const result = await graph.run(cache, {
    rows,
    counts,
    rowIds: table.ids,
    tokenAt: (s, i) => tokenAt(table.active[s], starts[s] + i, drafts?.[s]),
    hiddenAt: hiddenAt ? (s, i, out, offset) => hiddenAt(table.active[s], starts[s] + i, out, offset) : undefined,
    recycleAt: recycleAt ? (s, i, out, offset) => recycleAt(table.active[s], starts[s] + i, out, offset) : undefined,
    sampling,
    trees,
  });
  const fed = { ...result, counts, starts };
  assertFiniteLogits(graph, table, fed);
  return fed;
}

/** Throws a NonFiniteLogitsError at the first real position whose logits hold a NaN or an infinity. */
export function assertFiniteLogits(graph: Graph, table: SlotTable, result: FedResult): void {
  const check = (logits: Float32Array, slot: number, index: number, position: number, width: number): void => {
    // A sum of finite float32 values cannot overflow a float64, so it is finite exactly when they all are.
    let sum = 0;
    const base = index * width;
    for (let v = 0; v < width; v++) sum += logits[base + v];
    if (Number.isFinite(sum)) return;
    let bad = 0;
    while (Number.isFinite(logits[base + bad])) bad++;
    throw new NonFiniteLogitsError({ role: graph.role, file: graph.entry.file, row: table.active[slot].id, position, token: bad, value: logits[base + bad] });
  };
  const { logits, draftLogits, T, counts, starts } = result;
  if (logits && logits.length > 0) {
    const width = logits.length / (table.size * T);
    for (let s = 0; s < table.size; s++) for (let t = 0; t < counts[s]; t++) check(logits, s, s * T + t, starts[s] + t, width);
  }
  if (draftLogits && draftLogits.length > 0 && result.drafts) {
    // A sampled chain (one row): step i's logits are those at position end - 1 + i (they chose draft i).
    const gamma = result.drafts.length;
    const width = draftLogits.length / gamma;
    for (let i = 0; i < gamma; i++) check(draftLogits, 0, i, starts[0] + counts[0] - 1 + i, width);
  }
}

/** Offset into a (rows, T, width) output of slot's last real (unpadded) index. */
export function lastIndexOffset(result: FedResult, slot: number, width: number): number {
  return (slot * result.T + result.counts[slot] - 1) * width;
}

/** Per-row store of vectors by absolute position (exit-layer hidden states, target features). */
export class PositionStore {
  private readonly data = new Map<number, Float32Array>();

  constructor(
    readonly width: number,
    readonly capacity: number,
  ) {}

  private rowData(row: number): Float32Array {
    let d = this.data.get(row);
    if (!d) {
      d = new Float32Array(this.capacity * this.width);
      this.data.set(row, d);
    }
    return d;
  }

  /** Stores the real outputs of a fed call: slot s's i-th new token sits at position start_s + i. */
  storeFed(table: SlotTable, result: FedResult, output: Float32Array): void {
    const w = this.width;
    for (let s = 0; s < table.size; s++) {
      const dst = this.rowData(table.active[s].id);
      const start = result.starts[s];
      for (let i = 0; i < result.counts[s]; i++) {
        const src = (s * result.T + i) * w;
        dst.set(output.subarray(src, src + w), (start + i) * w);
      }
    }
  }

  /** Copies row `from`'s vectors at positions [start, end) to row `to` (SpecTr: one row's drafts, spectr.ts). */
  copyRow(from: number, to: number, start: number, end: number): void {
    if (end <= start) return;
    const w = this.width;
    this.rowData(to).set(this.rowData(from).subarray(start * w, end * w), start * w);
  }

  /** As KvCache.keepPath: row's vectors at start + nodes[i] move to start + i (a verified draft tree's path). */
  keepPath(row: number, start: number, nodes: ArrayLike<number>): void {
    const d = this.rowData(row);
    const w = this.width;
    for (let i = 0; i < nodes.length; i++) {
      if (nodes[i] !== i) d.copyWithin((start + i) * w, (start + nodes[i]) * w, (start + nodes[i] + 1) * w);
    }
  }

  copyTo(row: number, position: number, out: Float32Array, offset: number): void {
    const d = this.rowData(row);
    out.set(d.subarray(position * this.width, (position + 1) * this.width), offset);
  }

  release(row: number): void {
    this.data.delete(row);
  }
}
