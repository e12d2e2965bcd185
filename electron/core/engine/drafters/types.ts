/**
 * The two halves of speculative decoding. A Drafter proposes gamma tokens per row and the
 * distributions q it drew them from, and returns them: it writes nothing into the rows. A Target
 * scores the pending token and those drafts in one call. One verifier (verify.ts) serves every pair,
 * so a new drafter touches no verification code.
 */
import type { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { Uniform } from '../random.ts';
import type { Drafts, SlotTable } from '../rows.ts';

/** Where strategies are built: one cache slot per row, room for `capacity` positions each. */
export interface StrategyEnv {
  slots: number;
  capacity: number;
  vocabSize: number;
}

export interface Proposal {
  /** The drafted tokens of each active slot, gamma each: `tokens[slot][i]`. */
  tokens: number[][];
  /** q per drafted token, (rows, gamma, V) in slot order; null when greedy (only the tokens matter). */
  q: Float64Array | null;
}

/** The random source of each slot's draws: a row's own (`row.uniform`), or a replay of earlier draws. */
export type UniformOf = (slot: number) => Uniform;

export interface Drafter {
  readonly caches: readonly KvCache[];
  /** Drafts gamma tokens for every active row, drawing from each row's own random source when sampling. */
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
  /**
   * Logits at the pending position and after each of the gamma drafts, (rows, gamma+1, V); `drafts`
   * holds gamma tokens per slot (none for `ar`).
   */
  score(table: SlotTable, drafts: Drafts): Promise<Float32Array>;
  /** As Drafter.commit. */
  commit(table: SlotTable, accepted: Int32Array): void;
}
