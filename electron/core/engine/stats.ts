/**
 * Decoding statistics as a stream of small events (one per verification step per row) and one
 * aggregator. The UI, the CLI and the benchmarks consume the same events.
 */

export interface StepEvent {
  type: 'step';
  /** The row (index into the prompts). */
  row: number;
  /** This row's step number, from 0. */
  step: number;
  /** Tokens the drafter proposed this step (empty for `ar`). */
  drafted: number[];
  /** How many of them the target accepted. */
  accepted: number;
  /** The replacement token (after a rejection) or the bonus token (all accepted; every `ar` token). */
  token: number;
  bonus: boolean;
  /** Tokens appended to the row this step (accepted drafts + token, cut at the stop token or the length cap). */
  emitted: number;
  /** Wall time of the whole batch step's drafting and verifying; the same for every row of that step. */
  draftMs: number;
  verifyMs: number;
  /** Batch step this row-step belonged to, and how many rows it had. */
  batchStep: number;
  batchSize: number;
  /** Set on the row's last step. */
  finished?: 'stop' | 'length';
}

export interface PrefillEvent {
  type: 'prefill';
  rows: number;
  ms: number;
}

export type DecodeEvent = StepEvent | PrefillEvent;

export interface DecodeSummary {
  /** Generated tokens, all rows. */
  tokens: number;
  /** Verification (target) calls counted per row; for `ar`, one per token. */
  targetCalls: number;
  drafted: number;
  accepted: number;
  /**
   * Per-token acceptance rate α, the maximum-likelihood estimate under Leviathan et al.'s i.i.d.
   * model: accepted / (accepted + rejections). Steps where every draft was accepted show no rejection.
   */
  acceptanceRate: number;
  /** accepted / drafted: the share of drafted tokens that were used. */
  draftUseRate: number;
  /** τ: tokens emitted per target call (accepted drafts plus the replacement or bonus token), per row. */
  tokensPerTargetCall: number;
  /**
   * τ again, under the name the wire formats keep (`spear bench --json`'s `mean_accepted_tokens`, the
   * studio's sweep points): it counts every emitted token, not only the accepted drafts.
   */
  meanAcceptedTokens: number;
  gamma: number;
  /** Drafts per row-step: gamma, or less under adaptive gamma. */
  meanDrafted: number;
  /** Measured cost of one drafter call over one target call, c. */
  costRatio: number;
  /**
   * (1 − α^(γ+1)) / ((1 − α)(γc + 1)), Leviathan et al. 2022, Theorem 3.8, with γ the drafts per step
   * (under adaptive gamma their mean: an approximation, since the draft length then varies).
   */
  theoreticalSpeedup: number;
  draftMs: number;
  verifyMs: number;
  prefillMs: number;
  batchSteps: number;
}

export function theoreticalSpeedup(alpha: number, gamma: number, costRatio: number): number {
  if (gamma === 0) return 1;
  const expectedTokens = alpha >= 1 ? gamma + 1 : (1 - alpha ** (gamma + 1)) / (1 - alpha);
  return expectedTokens / (gamma * costRatio + 1);
}

export class StatsAggregator {
  private tokens = 0;
  private targetCalls = 0;
  private drafted = 0;
  private accepted = 0;
  private rejections = 0;
  private draftMs = 0;
  private verifyMs = 0;
  private prefillMs = 0;
  private readonly seenBatchSteps = new Set<number>();

  constructor(readonly gamma: number) {}

  add(event: DecodeEvent): void {
    if (event.type === 'prefill') {
      this.prefillMs += event.ms;
      return;
    }
    this.tokens += event.emitted;
    this.targetCalls++;
    this.drafted += event.drafted.length;
    this.accepted += event.accepted;
    if (event.accepted < event.drafted.length) this.rejections++;
    if (!this.seenBatchSteps.has(event.batchStep)) {
      this.seenBatchSteps.add(event.batchStep);
      this.draftMs += event.draftMs;
      this.verifyMs += event.verifyMs;
    }
  }

  summary(): DecodeSummary {
    const steps = this.seenBatchSteps.size;
    const acceptanceRate = this.accepted + this.rejections > 0 ? this.accepted / (this.accepted + this.rejections) : 0;
    const tokensPerTargetCall = this.targetCalls > 0 ? this.tokens / this.targetCalls : 0;
    const meanDrafted = this.targetCalls > 0 ? this.drafted / this.targetCalls : 0;
    const costRatio = meanDrafted > 0 && this.verifyMs > 0 ? this.draftMs / meanDrafted / this.verifyMs : 0;
    return {
      tokens: this.tokens,
      targetCalls: this.targetCalls,
      drafted: this.drafted,
      accepted: this.accepted,
      acceptanceRate,
      draftUseRate: this.drafted > 0 ? this.accepted / this.drafted : 0,
      tokensPerTargetCall,
      meanAcceptedTokens: tokensPerTargetCall,
      gamma: this.gamma,
      meanDrafted,
      costRatio,
      theoreticalSpeedup: theoreticalSpeedup(acceptanceRate, this.gamma > 0 ? meanDrafted : 0, costRatio),
      draftMs: this.draftMs,
      verifyMs: this.verifyMs,
      prefillMs: this.prefillMs,
      batchSteps: steps,
    };
  }
}
