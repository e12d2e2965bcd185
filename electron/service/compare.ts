/**
 * The Compare view's side of the service: which strategies and gammas a voice may be compared at, the
 * checks on a request, the labels of its progress, and its results as files. The measuring itself is
 * the core's (electron/core/eval/bench.ts), the same schedule and numbers as `spear bench`.
 */
import { SpearError } from '../core/errors.ts';
import type { BenchConfig, BenchPosition } from '../core/eval/bench.ts';
import type { Strategy } from '../core/engine/decode.ts';
import { LIMITS, type CompareCell, type CompareOptions, type CompareResult, type ResultsFormat, type StrategyInfo } from '../ipc-contract.ts';

/** A comparison the open voice cannot run, or one with nothing to read. */
export class CompareRequestError extends SpearError {}

/**
 * Each strategy the voice runs, with the gammas the Compare view may run it at (none for ar): up to
 * LIMITS.compareGammaMax, and up to `gammaLimit(strategy)` (medusa: its heads).
 */
export function strategyInfo(strategies: readonly Strategy[], gammaLimit: (strategy: Strategy) => number = () => Infinity, trees?: boolean): StrategyInfo[] {
  const gammas = Array.from({ length: LIMITS.compareGammaMax - LIMITS.gammaMin + 1 }, (_, i) => LIMITS.gammaMin + i);
  return strategies.map((strategy) => ({
    strategy,
    gammas: strategy === 'ar' ? [] : gammas.filter((g) => g <= gammaLimit(strategy)),
    ...(strategy === 'medusa' && trees !== undefined ? { trees } : {}),
  }));
}

/** Throws a CompareRequestError naming the first strategy or gamma the voice cannot run. */
export function checkCompareRequest(doc: string, options: CompareOptions, available: readonly StrategyInfo[]): void {
  if (doc.trim() === '') throw new CompareRequestError('compare: there is no text to compare on; type, paste or drop some first');
  for (const strategy of options.strategies) {
    const info = available.find((s) => s.strategy === strategy);
    if (!info) {
      throw new CompareRequestError(`compare: this voice cannot run ${strategy} (it runs ${available.map((s) => s.strategy).join(', ')})`);
    }
    const missing = options.gammas.find((g) => !info.gammas.includes(g));
    if (missing !== undefined) {
      throw new CompareRequestError(`compare: this voice cannot run ${strategy} at gamma ${missing} (it runs gamma ${rangeText(info.gammas)})`);
    }
  }
}

function rangeText(gammas: readonly number[]): string {
  const contiguous = gammas.every((g, i) => i === 0 || g === gammas[i - 1] + 1);
  return contiguous && gammas.length > 1 ? `${gammas[0]}–${gammas.at(-1)}` : gammas.join(', ');
}

/** "ar (baseline)", "eagle γ 4". */
export function configLabel(config: BenchConfig): string {
  return config.strategy === 'ar' ? 'ar (baseline)' : `${config.strategy} γ ${config.gamma}`;
}

/** What a progress event says runs next: "warm-up: eagle γ 4", "repeat 2 of 3: ar (baseline)". */
export function positionLabel(position: BenchPosition, warmUpRounds: number): string {
  const repeats = position.rounds - warmUpRounds;
  const what = position.warmUp ? 'warm-up' : `repeat ${position.round - warmUpRounds + 1} of ${repeats}`;
  return `${what}: ${configLabel(position.config)}`;
}

/**
 * One cell as a row of results, with the names `spear bench --json` gives the same numbers, so that
 * rows from the studio and from the CLI read alike.
 */
function resultRow(cell: CompareCell, result: CompareResult): Record<string, string | number | null> {
  return {
    strategy: cell.strategy,
    gamma: cell.gamma,
    temperature: result.temperature,
    runs: cell.runs,
    sentences: cell.sentences,
    tokens: cell.tokens,
    seconds: cell.seconds,
    tokens_per_s: cell.tokensPerSecond,
    speedup_vs_ar: cell.speedup,
    speedup_min: cell.speedupMin,
    speedup_max: cell.speedupMax,
    acceptance_rate: cell.acceptanceRate,
    tokens_per_target_call: cell.tokensPerTargetCall,
    mean_drafted: cell.meanDrafted,
    cost_ratio: cell.costRatio,
    theoretical_speedup: cell.theoreticalSpeedup,
    rtf: cell.rtf,
    time_to_first_audio_ms: cell.timeToFirstAudioMs,
    machine: result.machine,
  };
}

/** Six significant digits are past what a timing on a shared machine can tell; NaN (not measured) is empty. */
const tidy = (value: string | number | null): string | number | null =>
  typeof value === 'number' ? (Number.isFinite(value) ? (Number.isInteger(value) ? value : Number(value.toPrecision(6))) : null) : value;

/** The results as a file's text: JSON (what was asked, how far it got, and the rows) or CSV (the rows). */
export function formatCompareResults(result: CompareResult, format: ResultsFormat): string {
  const rows = result.cells.map((cell) => Object.fromEntries(Object.entries(resultRow(cell, result)).map(([k, v]) => [k, tidy(v)])));
  if (format === 'json') {
    const { strategies, gammas, repeats, temperature, machine, runsDone, runsTotal } = result;
    const complete = runsDone === runsTotal;
    return `${JSON.stringify({ machine, strategies, gammas, repeats, temperature, runsDone, runsTotal, complete, rows }, null, 2)}\n`;
  }
  const columns = Object.keys(resultRow(EMPTY_CELL, result));
  const field = (value: string | number | null): string => {
    const text = value === null ? '' : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((c) => field(row[c])).join(','))].join('\r\n') + '\r\n';
}

const EMPTY_CELL: CompareCell = {
  strategy: 'ar',
  gamma: 0,
  runs: 0,
  sentences: 0,
  tokens: 0,
  seconds: 0,
  tokensPerSecond: 0,
  speedup: 0,
  speedupMin: 0,
  speedupMax: 0,
  acceptanceRate: 0,
  tokensPerTargetCall: 0,
  meanDrafted: 0,
  costRatio: 0,
  theoreticalSpeedup: 0,
  rtf: 0,
  timeToFirstAudioMs: 0,
};
