/**
 * Measuring decoding configurations against each other on one text: the schedule and the numbers that
 * `spear bench` (electron/cli/bench.ts) and the studio's Compare view (electron/service/service.ts)
 * share. `ar` is always one of the configurations: it is the baseline every speedup is taken over.
 *
 * Interleaved: each round runs every configuration once, in the order of the round before rotated by
 * one, so that load from other processes and drift over time hit every configuration alike and none
 * always runs first or last. Warm-up rounds come first and are discarded (sessions created, a drafter's
 * chain for each gamma opened, caches warm). Speedups are paired by round: each run is divided by
 * `ar`'s run of the same round, and the lowest and highest of those ratios go beside the median.
 */
import type { Strategy } from '../engine/decode.ts';
import type { TreeSpec } from '../engine/tree.ts';
import type { SynthesisSummary } from '../pipeline/events.ts';

/**
 * One configuration: `ar` (gamma 0) or a drafting strategy at a gamma, or at adaptive gamma ('auto'),
 * with `drafts` K drafts per step (default 1; above 1, SpecTr).
 */
export interface BenchConfig {
  strategy: Strategy;
  gamma: number | 'auto';
  drafts?: number;
  /** 'medusa': a tree verified in place of a chain (DecodeOptions.tree); gamma is then its depth. */
  tree?: TreeSpec;
}

/** `ar` first, then each drafting strategy at each gamma and each number of drafts, in the order given. */
export function benchConfigs(strategies: readonly Strategy[], gammas: readonly (number | 'auto')[], drafts: readonly number[] = [1]): BenchConfig[] {
  const configs: BenchConfig[] = [{ strategy: 'ar', gamma: 0 }];
  for (const strategy of strategies)
    if (strategy !== 'ar') for (const gamma of gammas) for (const k of drafts) configs.push({ strategy, gamma, ...(k > 1 ? { drafts: k } : {}) });
  return configs;
}

/** "eagle/4", "ar/0", "draft/auto", "eagle/3/K2" (two drafts), "medusa/2/tree[2,1]": a configuration as a map key. */
export const benchKey = (config: BenchConfig): string =>
  `${config.strategy}/${config.gamma}${(config.drafts ?? 1) > 1 ? `/K${config.drafts}` : ''}${config.tree ? `/tree${JSON.stringify(config.tree)}` : ''}`;

/** The order round `round` (0-based, warm-up rounds counted) runs the configurations in: rotated by `round`. */
export function roundOrder<T>(configs: readonly T[], round: number): T[] {
  return configs.map((_, i) => configs[(i + round) % configs.length]);
}

/** Where a run falls in the schedule. */
export interface BenchPosition {
  config: BenchConfig;
  /** 0-based over every round, warm-up rounds first. */
  round: number;
  /** Warm-up rounds plus measured rounds. */
  rounds: number;
  /** Position of the run in its round. */
  index: number;
  warmUp: boolean;
}

export interface InterleavedOptions {
  /** What to measure; `benchConfigs` builds the usual list (ar first). */
  configs: readonly BenchConfig[];
  /** Measured rounds, ≥ 1. */
  repeats: number;
  /** Rounds run before the measured ones and discarded. Default 1. */
  warmUpRounds?: number;
  /** Runs one configuration once (a warm-up run may read less than a measured one). */
  run(position: BenchPosition): Promise<SynthesisSummary>;
  /** Before each run. */
  onRun?(position: BenchPosition): void;
  /** After each measured run, with every measured run so far by `benchKey`. */
  onMeasured?(position: BenchPosition, runs: ReadonlyMap<string, readonly SynthesisSummary[]>): void;
  /** Checked before each run; `run` should stop on it too. */
  signal?: AbortSignal;
}

/** Runs the schedule; returns each configuration's measured runs by `benchKey`, in round order. */
export async function runInterleaved(options: InterleavedOptions): Promise<Map<string, SynthesisSummary[]>> {
  const { configs, repeats, signal } = options;
  const warmUpRounds = options.warmUpRounds ?? 1;
  const rounds = warmUpRounds + repeats;
  const runs = new Map<string, SynthesisSummary[]>(configs.map((c) => [benchKey(c), []]));
  for (let round = 0; round < rounds; round++) {
    for (const [index, config] of roundOrder(configs, round).entries()) {
      signal?.throwIfAborted();
      const position: BenchPosition = { config, round, rounds, index, warmUp: round < warmUpRounds };
      options.onRun?.(position);
      const summary = await options.run(position);
      if (position.warmUp) continue;
      runs.get(benchKey(config))!.push(summary);
      options.onMeasured?.(position, runs);
    }
  }
  return runs;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One configuration's numbers over its measured runs: medians, and the speedup over `ar`. */
export interface BenchCell {
  strategy: Strategy;
  /** 0 for ar; 'auto' for adaptive gamma. */
  gamma: number | 'auto';
  /** K, drafts per step; absent in cells made elsewhere, meaning 1. */
  drafts?: number;
  /** The configuration's tree, if any. */
  tree?: TreeSpec;
  /** Measured runs these numbers are over. */
  runs: number;
  sentences: number;
  /** Units decoded by one run. */
  tokens: number;
  /** Wall time of one run, decoding and speaking. */
  seconds: number;
  /** Units per second of decoding. */
  tokensPerSecond: number;
  /** Median units/s over ar's median (1 for ar). */
  speedup: number;
  /** Lowest and highest of the per-round speedups (each run over ar's run of the same round). */
  speedupMin: number;
  speedupMax: number;
  /** α: accepted / (accepted + rejections); 0 for ar. */
  acceptanceRate: number;
  /** τ: units emitted per target call (1 for ar). */
  tokensPerTargetCall: number;
  /** Drafts per step: gamma, or fewer under adaptive gamma; 0 for ar. */
  meanDrafted: number;
  /** c: one drafter call over one target call; 0 for ar. */
  costRatio: number;
  /** Leviathan et al. Theorem 3.8 with this cell's α and c. */
  theoreticalSpeedup: number;
  rtf: number;
  timeToFirstAudioMs: number;
}

/**
 * A configuration's cell from its measured runs and ar's (runs of the same round share an index; a
 * schedule still running may have one more of either, which the pairing leaves out). Greedy, every run
 * decodes the same units, so α and τ are the same in each; sampling, their medians are given.
 */
export function benchCell(config: BenchConfig, runs: readonly SynthesisSummary[], arRuns: readonly SynthesisSummary[]): BenchCell {
  const of = (f: (s: SynthesisSummary) => number): number => median(runs.map(f));
  const tokensPerSecond = of((s) => s.tokensPerSecond);
  const isAr = config.strategy === 'ar';
  const arSpeed = median(arRuns.map((s) => s.tokensPerSecond));
  const paired = runs.slice(0, arRuns.length).map((s, i) => s.tokensPerSecond / arRuns[i].tokensPerSecond);
  return {
    strategy: config.strategy,
    gamma: config.gamma,
    drafts: config.drafts ?? 1,
    ...(config.tree ? { tree: config.tree } : {}),
    runs: runs.length,
    sentences: runs[0]?.sentences ?? 0,
    tokens: runs[0]?.decode.tokens ?? 0,
    seconds: of((s) => s.seconds),
    tokensPerSecond,
    speedup: isAr ? 1 : tokensPerSecond / arSpeed,
    speedupMin: isAr ? 1 : paired.length > 0 ? Math.min(...paired) : Number.NaN,
    speedupMax: isAr ? 1 : paired.length > 0 ? Math.max(...paired) : Number.NaN,
    acceptanceRate: of((s) => s.decode.acceptanceRate),
    tokensPerTargetCall: of((s) => s.decode.tokensPerTargetCall),
    meanDrafted: of((s) => s.decode.meanDrafted),
    costRatio: of((s) => s.decode.costRatio),
    theoreticalSpeedup: of((s) => s.decode.theoreticalSpeedup),
    rtf: of((s) => s.rtf),
    timeToFirstAudioMs: of((s) => s.timeToFirstAudioMs),
  };
}

/** The cells of every configuration with at least one measured run, in the order of `configs`. */
export function benchCells(configs: readonly BenchConfig[], runs: ReadonlyMap<string, readonly SynthesisSummary[]>): BenchCell[] {
  const arRuns = runs.get(benchKey({ strategy: 'ar', gamma: 0 })) ?? [];
  return configs.filter((c) => (runs.get(benchKey(c))?.length ?? 0) > 0).map((c) => benchCell(c, runs.get(benchKey(c))!, arRuns));
}
