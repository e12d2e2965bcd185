/**
 * Per-row decoding state and the slot table. Logical rows keep their ids for the whole job; active
 * rows occupy cache slots 0 … active-1, and a finished row's slot is refilled by the last active row.
 */
import type { Uniform } from './random.ts';
import type { KvCache } from './kv-cache.ts';

export type FinishReason = 'stop' | 'length';

export interface RowState {
  /** Index of the row in the caller's prompt list. */
  id: number;
  /** Prompt followed by every committed token; the last one has not been through the target yet. */
  seq: number[];
  promptLength: number;
  /** seq.length may not exceed this (prompt + max new tokens, within the context). */
  maxLength: number;
  uniform: Uniform;
  steps: number;
  finishReason: FinishReason | null;
}

/** This step's drafted tokens of each active slot (`drafts[slot][i]`), not yet verified. */
export type Drafts = readonly (readonly number[])[];

/** Token at absolute position `pos` of the row's sequence extended by `drafts`, the row's drafts this step. */
export function tokenAt(row: RowState, pos: number, drafts: readonly number[] = []): number {
  if (pos < row.seq.length) return row.seq[pos];
  const i = pos - row.seq.length;
  if (i >= drafts.length) throw new RangeError(`row ${row.id}: position ${pos} lies past its sequence and its ${drafts.length} drafts`);
  return drafts[i];
}

/** Position of the row's pending token (the newest committed one). */
export function pendingPosition(row: RowState): number {
  return row.seq.length - 1;
}

/**
 * After verification, before the accepted tokens are appended: each cache keeps the row's committed
 * sequence plus its first `accepted[slot]` drafts and forgets the rest (a length moves; nothing is copied).
 */
export function keepAcceptedDrafts(table: SlotTable, accepted: Int32Array, caches: readonly KvCache[]): void {
  for (let s = 0; s < table.size; s++) {
    const keep = table.active[s].seq.length + accepted[s];
    for (const cache of caches) cache.truncate(s, keep);
  }
}

/** Active rows in slot order; `retire` swap-removes a finished row from every cache. */
export class SlotTable {
  readonly active: RowState[];

  constructor(rows: RowState[]) {
    this.active = [...rows];
  }

  get size(): number {
    return this.active.length;
  }

  get ids(): number[] {
    return this.active.map((r) => r.id);
  }

  retire(slot: number, caches: readonly KvCache[]): void {
    const last = this.active.length - 1;
    if (slot !== last) {
      for (const cache of caches) cache.moveSlot(last, slot);
      this.active[slot] = this.active[last];
    } else {
      for (const cache of caches) cache.lengths[slot] = 0;
    }
    this.active.pop();
  }
}
