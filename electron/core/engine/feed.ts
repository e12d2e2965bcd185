/** Feeding a graph the part of each row's (extended) sequence its cache has not seen yet. */
import type { Graph, GraphFeed, GraphResult } from './graph.ts';
import type { KvCache } from './kv-cache.ts';
import { tokenAt, type RowState, type SlotTable } from './rows.ts';

export interface FedResult extends GraphResult {
  /** New tokens fed per slot. */
  counts: Int32Array;
  /** Position of each slot's first new token. */
  starts: Int32Array;
}

/**
 * Feeds each active row the tokens at positions [cache length, end(row)) and, for graphs that read
 * hidden states, the vector `hiddenAt(row, position)` gives.
 */
export async function feedUpTo(
  graph: Graph,
  cache: KvCache,
  table: SlotTable,
  end: (row: RowState) => number,
  hiddenAt?: (row: RowState, position: number, out: Float32Array, offset: number) => void,
  sampling?: GraphFeed['sampling'],
): Promise<FedResult> {
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
    tokenAt: (s, i) => tokenAt(table.active[s], starts[s] + i),
    hiddenAt: hiddenAt ? (s, i, out, offset) => hiddenAt(table.active[s], starts[s] + i, out, offset) : undefined,
    sampling,
  });
  return { ...result, counts, starts };
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

  copyTo(row: number, position: number, out: Float32Array, offset: number): void {
    const d = this.rowData(row);
    out.set(d.subarray(position * this.width, (position + 1) * this.width), offset);
  }

  release(row: number): void {
    this.data.delete(row);
  }
}
