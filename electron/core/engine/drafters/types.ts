/**
 * The two halves of speculative decoding. A Drafter proposes gamma tokens per row and the
 * distributions q it drew them from, and returns them: it writes nothing into the rows. A Target
 * scores the pending token and those drafts in one call. One verifier (verify.ts) serves every pair,
 * so a new drafter touches no verification code.
 */
import type { PositionStore } from '../feed.ts';
import type { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { Uniform } from '../random.ts';
import type { Drafts, SlotTable } from '../rows.ts';

/**
 * Where strategies are built: `slots` cache slots (one per row; with SpecTr's K drafts, K per row), room
 * for `capacity` positions each.
 */
export interface StrategyEnv {
  slots: number;
  capacity: number;
  vocabSize: number;
}

/**
 * Adaptive gamma (Draft & Verify; EAGLE-2): a row's drafting stops before the first draft whose
 * confidence — the largest probability of the drafter's own softmax at temperature 1 — is below
 * `confidence`. Every row keeps at least one draft and at most gamma. The rule reads only the
 * drafter's outputs, so verification stays lossless.
 */
export interface DraftLimit {
  confidence: number;
}

export interface Proposal {
  /** The drafted tokens of each active slot, gamma each (1 … gamma under a DraftLimit): `tokens[slot][i]`. */
  tokens: number[][];
  /** q per drafted token, (rows, gamma, V) in slot order; null when greedy (only the tokens matter). */
  q: Float64Array | null;
}

/** The random source of each slot's draws: a row's own (`row.uniform`), or a replay of earlier draws. */
export type UniformOf = (slot: number) => Uniform;

export interface Drafter {
  readonly caches: readonly KvCache[];
  /** Vectors kept per row by position besides the caches, if any (SpecTr copies them between a row's drafts). */
  readonly stores?: readonly PositionStore[];
  /**
   * Drafts gamma tokens for every active row (fewer where `limit` stops a row), drawing from each row's
   * own random source when sampling.
   */
  propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal>;
  /**
   * Called after verification, before the accepted tokens are appended to `row.seq`: the row's first
   * `accepted[slot]` drafts are kept. Caches must forget everything after them.
   */
  commit(table: SlotTable, accepted: Int32Array): void;
}

export interface Target {
  readonly caches: readonly KvCache[];
  /** As Drafter.stores. */
  readonly stores?: readonly PositionStore[];
  /** Runs every prompt token but the last (the pending one) through the target. */
  prefill(table: SlotTable): Promise<void>;
  /**
   * Logits at the pending position and after each draft, (rows, gamma+1, V); `drafts` holds up to
   * gamma tokens per slot (none for `ar`), and a slot with fewer fills only its first drafts+1 entries.
   */
  score(table: SlotTable, drafts: Drafts, gamma: number): Promise<Float32Array>;
  /** As Drafter.commit. */
  commit(table: SlotTable, accepted: Int32Array): void;
}
