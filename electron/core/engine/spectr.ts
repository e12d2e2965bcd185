/**
 * SpecTr's K drafts per row (Sun et al. 2023; the verifier is verifySpecTr in verify.ts). Every row
 * owns K slots in every cache, slot s·K + k for draft k of the row in slot s, and each draft is a row of
 * its own to the drafter and the target: they draft and score all K·rows drafts in one batch, each
 * draft drawing from its own random source, derived from its row's. At the start of a step the K slots
 * of a row hold the same positions; after verification the row continues from a draft that holds the
 * accepted tokens, and its slots are copied into the row's other K − 1 (only the positions this step
 * wrote). A row's drafts share its `seq`, so appending the emitted tokens to the row extends them all.
 */
import type { PositionStore } from './feed.ts';
import type { KvCache } from './kv-cache.ts';
import type { TokenPicker } from './picker.ts';
import { SEED_LIMIT, seededUniform, type Uniform } from './random.ts';
import { SlotTable, type Drafts, type RowState } from './rows.ts';
import { verifySpecTr, type VerifySpecTrOutput } from './verify.ts';
import type { Drafter, Proposal, Target } from './drafters/types.ts';

export interface SpecTrRowsOptions {
  /** The rows, prefilled: row s's positions in slot s of every cache. */
  table: SlotTable;
  /** K, drafts per row (≥ 2). */
  drafts: number;
  /** Rows of the whole job: draft k of row `id` is the row `id + k · rowCount` to the drafter and the target. */
  rowCount: number;
  /** Every cache of the target and the drafter, each once. */
  caches: readonly KvCache[];
  /** Every PositionStore of the target and the drafter. */
  stores: readonly PositionStore[];
}

export class SpecTrRows {
  /** One row per draft, draft k of the row in slot s in slot s·K + k. */
  readonly table: SlotTable;
  private readonly K: number;
  private readonly caches: readonly KvCache[];
  private readonly stores: readonly PositionStore[];
  /** Per cache, the length of each row's slots at the step's start. */
  private startLengths: Int32Array[] = [];

  constructor(options: SpecTrRowsOptions) {
    const { table, drafts: K, rowCount, caches, stores } = options;
    this.K = K;
    this.caches = caches;
    this.stores = stores;
    // Row s moves to slot s·K; from the last row down, so no row lands on one not yet moved.
    for (const cache of caches) for (let s = table.size - 1; s >= 1; s--) cache.moveSlot(s, s * K);
    const drafts: RowState[] = [];
    for (const row of table.active) {
      // One draw of the row's own stream seeds its drafts' streams: a row decodes the same in any batch.
      const seed = Math.floor(row.uniform() * SEED_LIMIT);
      for (let k = 0; k < K; k++) drafts.push({ ...row, id: row.id + k * rowCount, uniform: seededUniform(seed, k) });
    }
    this.table = new SlotTable(drafts);
    for (let s = 0; s < table.size; s++) {
      const row = table.active[s];
      for (let k = 1; k < K; k++) {
        for (const cache of caches) cache.copySlot(s * K, s * K + k);
        for (const store of stores) store.copyRow(row.id, row.id + k * rowCount, 0, row.seq.length);
      }
    }
  }

  /** Notes where each row's slots stand before drafting: positions below stay as they are this step. */
  begin(): void {
    this.startLengths = this.caches.map((cache) => Int32Array.from({ length: this.table.size / this.K }, (_, s) => cache.lengths[s * this.K]));
  }

  /**
   * The target's distributions along the drafts, then SpecTr's verification of each row's K drafts.
   * verifySpecTr reads p at depth i only from the first of the drafts that share their first i tokens
   * and either go on past depth i or end there; the others repeat it and are not computed.
   */
  verify(logits: Float32Array, proposal: Proposal, gamma: number, picker: TokenPicker, uniforms: readonly Uniform[]): VerifySpecTrOutput {
    const drafts = proposal.tokens;
    const V = picker.vocabSize;
    const K = this.K;
    const lengths = Int32Array.from(drafts, (d) => d.length);
    const p = new Float64Array(drafts.length * (gamma + 1) * V);
    for (let row = 0; row * K < drafts.length; row++) {
      const seen = new Set<string>();
      for (let d = row * K; d < (row + 1) * K; d++) {
        for (let i = 0; i <= lengths[d]; i++) {
          const node = `${drafts[d].slice(0, i).join(',')}|${i < lengths[d]}`;
          if (seen.has(node)) continue;
          seen.add(node);
          picker.distribution(logits, (d * (gamma + 1) + i) * V, p, (d * (gamma + 1) + i) * V);
        }
      }
    }
    const draftTokens = new Int32Array(drafts.length * gamma);
    drafts.forEach((tokens, d) => draftTokens.set(tokens, d * gamma));
    return verifySpecTr({ rows: uniforms.length, drafts: this.K, gamma, vocabSize: V, p, q: proposal.q!, draftTokens, lengths, uniforms });
  }

  /**
   * After verification, before the emitted tokens are appended: each draft keeps what it shares with the
   * accepted tokens (the target's and the drafter's own commit), then every row's slots are made copies
   * of the draft it continues from.
   */
  commit(verdict: VerifySpecTrOutput, drafts: Drafts, parts: ReadonlyArray<Target | Drafter | null>): void {
    const K = this.K;
    const rows = this.table.size / K;
    const kept = new Int32Array(this.table.size);
    for (let s = 0; s < rows; s++) {
      const accepted = drafts[s * K + verdict.acceptedDraft[s]].slice(0, verdict.acceptedCounts[s]);
      for (let k = 0; k < K; k++) {
        const draft = drafts[s * K + k];
        let n = 0;
        while (n < accepted.length && draft[n] === accepted[n]) n++;
        kept[s * K + k] = n;
      }
    }
    for (const part of parts) part?.commit(this.table, kept);
    for (let s = 0; s < rows; s++) {
      const from = s * K + verdict.acceptedDraft[s];
      const row = this.table.active[from];
      let storeStart = Infinity;
      this.caches.forEach((cache, c) => {
        const start = this.startLengths[c][s];
        storeStart = Math.min(storeStart, start);
        for (let k = 0; k < K; k++) if (s * K + k !== from) cache.copySlot(from, s * K + k, Math.min(start, cache.lengths[s * K + k], cache.lengths[from]));
      });
      // A store holds a row's vectors at the positions its graph was fed; those this step wrote and
      // still hold lie in [the lowest start, the accepted end).
      const storeEnd = row.seq.length + verdict.acceptedCounts[s];
      for (const store of this.stores) {
        for (let k = 0; k < K; k++) {
          const to = this.table.active[s * K + k];
          if (to !== row) store.copyRow(row.id, to.id, storeStart, storeEnd);
        }
      }
    }
  }

  /** Swap-removes the row in slot `slot` as SlotTable.retire does: the last row's K slots take its place. */
  retire(slot: number): void {
    const K = this.K;
    const last = this.table.size / K - 1;
    const active = this.table.active;
    for (let k = 0; k < K; k++) {
      if (slot !== last) {
        for (const cache of this.caches) cache.moveSlot(last * K + k, slot * K + k);
        active[slot * K + k] = active[last * K + k];
      } else {
        for (const cache of this.caches) cache.lengths[slot * K + k] = 0;
      }
    }
    active.length -= K;
  }
}
