/**
 * The gamma sweep: `ar` once as the baseline, then the chosen drafting strategy at each gamma, on the
 * same text; and the pure summary the chart draws (measured points, and Leviathan et al.'s
 * Theorem 3.8 curve for one α and c fitted to the whole sweep).
 */
import { theoreticalSpeedup } from '../core/engine/stats.ts';
import type { SynthesisSummary } from '../core/pipeline/events.ts';
import type { SweepPoint, SweepResult, SweepOptions } from '../ipc-contract.ts';

export const DEFAULT_SWEEP_GAMMAS = [1, 2, 3, 4, 5, 6, 7, 8];

export function sweepPoint(summary: SynthesisSummary, baselineTokensPerSecond: number): SweepPoint {
  const d = summary.decode;
  // A sweep runs fixed gammas; an adaptive run is placed at its mean draft length.
  const gamma = summary.gamma === 'auto' ? d.meanDrafted : summary.gamma;
  return {
    gamma,
    tokensPerSecond: summary.tokensPerSecond,
    acceptanceRate: d.acceptanceRate,
    meanAcceptedTokens: d.meanAcceptedTokens,
    costRatio: d.costRatio,
    measuredSpeedup: baselineTokensPerSecond > 0 ? summary.tokensPerSecond / baselineTokensPerSecond : 0,
    theoreticalSpeedup: theoreticalSpeedup(d.acceptanceRate, gamma, d.costRatio),
  };
}

/**
 * One α and one c for the whole sweep: α pooled as accepted / (accepted + rejections) over every run
 * (the same estimator as the engine's, with each run's rejections recovered from its α), c the
 * target-call-weighted mean. The curve is the baseline's tokens/s times the theoretical speedup.
 */
export function summarizeSweep(
  strategy: SweepOptions['strategy'],
  baselineTokensPerSecond: number,
  runs: readonly SynthesisSummary[],
  curveGammas: readonly number[] = DEFAULT_SWEEP_GAMMAS,
): SweepResult {
  const points = runs.map((r) => sweepPoint(r, baselineTokensPerSecond));
  let accepted = 0;
  let trials = 0;
  let costWeighted = 0;
  let calls = 0;
  for (const r of runs) {
    const d = r.decode;
    accepted += d.accepted;
    trials += d.acceptanceRate > 0 ? d.accepted / d.acceptanceRate : d.drafted > 0 ? d.targetCalls : 0;
    costWeighted += d.costRatio * d.targetCalls;
    calls += d.targetCalls;
  }
  const alpha = trials > 0 ? Math.min(1, accepted / trials) : 0;
  const costRatio = calls > 0 ? costWeighted / calls : 0;
  const curve = curveGammas.map((gamma) => {
    const speedup = theoreticalSpeedup(alpha, gamma, costRatio);
    return { gamma, speedup, tokensPerSecond: baselineTokensPerSecond * speedup };
  });
  const best = points.reduce<SweepPoint | undefined>((a, p) => (!a || p.tokensPerSecond > a.tokensPerSecond ? p : a), undefined);
  return { strategy, baselineTokensPerSecond, points, theory: { alpha, costRatio, curve }, bestGamma: best?.gamma ?? 4 };
}
