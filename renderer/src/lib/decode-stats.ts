/**
 * Running decode statistics from step events, the same estimators as the engine's StatsAggregator
 * (electron/core/engine/stats.ts): α = accepted / (accepted + rejections), τ = tokens per target call.
 */
import type { StepPipelineEvent } from '../../../electron/ipc-contract.ts';

export interface RunningStats {
  steps: number;
  drafted: number;
  accepted: number;
  /** Steps where some drafted token was rejected. */
  rejections: number;
  emitted: number;
  draftMs: number;
  verifyMs: number;
  /** Service timestamps (ms since the job started) of the first and the latest step. */
  firstT: number;
  lastT: number;
}

export const EMPTY_STATS: RunningStats = { steps: 0, drafted: 0, accepted: 0, rejections: 0, emitted: 0, draftMs: 0, verifyMs: 0, firstT: 0, lastT: 0 };

export function addStep(stats: RunningStats, step: StepPipelineEvent, t: number): RunningStats {
  return {
    steps: stats.steps + 1,
    drafted: stats.drafted + step.drafted.length,
    accepted: stats.accepted + step.accepted,
    rejections: stats.rejections + (step.accepted < step.drafted.length ? 1 : 0),
    emitted: stats.emitted + step.emitted,
    draftMs: stats.draftMs + step.draftMs,
    verifyMs: stats.verifyMs + step.verifyMs,
    firstT: stats.steps === 0 ? t : stats.firstT,
    lastT: t,
  };
}

/** α, or undefined before anything was drafted. */
export function acceptanceRate(s: RunningStats): number | undefined {
  return s.accepted + s.rejections > 0 ? s.accepted / (s.accepted + s.rejections) : undefined;
}

/** τ: mean tokens emitted per verification step. */
export function meanAcceptedTokens(s: RunningStats): number | undefined {
  return s.steps > 0 ? s.emitted / s.steps : undefined;
}

/** Tokens per wall-clock second between the first and the latest step (undefined until 50 ms passed). */
export function tokensPerSecond(s: RunningStats): number | undefined {
  const ms = s.lastT - s.firstT;
  return ms >= 50 ? (s.emitted / ms) * 1000 : undefined;
}

/**
 * Speedup over `ar`. Measured where a sweep of this text ran this strategy at this gamma: that run's
 * tokens/s over the sweep's ar run (`sweepSpeedup`), both decoding the same work one after the other.
 * Otherwise estimated as τ · v̄ / (d̄ + v̄): tokens per step over the step's cost in verify calls,
 * assuming one `ar` token costs one verify call (an underestimate: verifying γ+1 tokens costs more).
 * NOTE: a synthesis job's own tokens/s is not set against the sweep's ar: the job also re-reads the
 * sentences the reading check sends back (with the voice's own strategy, sampled, in batches) and speaks
 * while it decodes, and the sweep does neither; the ratio of the two read 0.96× where the sweep measured
 * 1.36× (the e2e document, eagle γ 3).
 */
export function speedupOverAr(s: RunningStats, sweepSpeedup?: number): { value: number | undefined; measured: boolean } {
  if (sweepSpeedup !== undefined && sweepSpeedup > 0) return { value: sweepSpeedup, measured: true };
  const tau = meanAcceptedTokens(s);
  if (tau === undefined || s.verifyMs <= 0) return { value: undefined, measured: false };
  return { value: (tau * s.verifyMs) / (s.draftMs + s.verifyMs), measured: false };
}

/** How a step reads in the acceptance view: which chips were accepted, where the first rejection fell. */
export interface StepView {
  step: number;
  drafted: number[];
  accepted: number;
  /** Index in `drafted` of the first rejected token; null when all were accepted (or nothing drafted). */
  rejectedAt: number | null;
  token: number;
  /** 'bonus': all drafts accepted and the target added one; 'replacement': drawn after a rejection; 'ar': no drafting. */
  tokenKind: 'bonus' | 'replacement' | 'ar';
  emitted: number;
}

export function stepView(e: StepPipelineEvent): StepView {
  const rejectedAt = e.accepted < e.drafted.length ? e.accepted : null;
  return {
    step: e.step,
    drafted: e.drafted,
    accepted: e.accepted,
    rejectedAt,
    token: e.token,
    tokenKind: e.drafted.length === 0 ? 'ar' : e.bonus ? 'bonus' : 'replacement',
    emitted: e.emitted,
  };
}
