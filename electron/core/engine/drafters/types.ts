/**
 * The two halves of speculative decoding. A Drafter proposes gamma tokens per row (written to
 * `row.drafts`) and the distributions q it drew them from; a Target scores the pending token and
 * the drafts in one call. One verifier (verify.ts) serves every pair, so a new drafter touches no
 * verification code.
 */
import type { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { SlotTable } from '../rows.ts';

export interface Proposal {
  /** q per drafted token, (rows, gamma, V); null when greedy (only the tokens matter). */
  q: Float64Array | null;
}

export interface Drafter {
  readonly caches: readonly KvCache[];
  propose(table: SlotTable, gamma: number, picker: TokenPicker): Promise<Proposal>;
  /**
   * Called after verification, before the accepted tokens are appended to `row.seq`: the row's first
   * `accepted[slot]` drafts are kept. Caches must forget everything after them.
   */
  commit(table: SlotTable, accepted: Int32Array): void;
}

export interface Target {
  readonly caches: readonly KvCache[];
  /** Runs every prompt token but the last (the pending one) through the target. */
  prefill(table: SlotTable): Promise<void>;
  /** Logits at the pending position and after each of the gamma drafts: (rows, gamma+1, V). */
  score(table: SlotTable, gamma: number): Promise<Float32Array>;
  /** As Drafter.commit. */
  commit(table: SlotTable, accepted: Int32Array): void;
}
