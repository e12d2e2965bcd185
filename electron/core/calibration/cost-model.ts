/**
 * The cost model behind per-machine calibration: from the voice's acceptance per depth (machine-free)
 * and this machine's measured graph costs, the units/s each strategy, gamma and thread split would
 * decode at, greedy and one row at a time, and the choice of the fastest. Pure functions over plain
 * numbers; measure.ts produces the numbers.
 *
 * One verification step of one row, as decode.ts runs it (docs/engine.md, "One step"), with
 * c = the positions a drafter catches up on at the step's start (what the last step committed):
 *
 *   ar          full(1)
 *   eagle       chain_γ(c) + full(γ+1)            (no chain for γ: eagle(c) + (γ−1)·eagle(1))
 *   draft       chain_γ(c) + full(γ+1)            (no chain for γ: draft(c) + (γ−1)·draft(1))
 *   early-exit  (γ+1)·trunk(1) + γ·exit_head(1) + rest(γ+1)
 *   layer-skip  layer_skip(c) + (γ−1)·layer_skip(1) + full(γ+1)
 *   medusa      medusa(1) + full(γ+1)                               (γ at most its heads)
 *   prophet     chain_γ(2) + full(γ+1)            (no chain for γ: seed_prophet(2) + (γ−1)·seed_prophet(1))
 *
 * The seed prophet's cache starts empty every step: its first call reads [bos, pending token], 2
 * positions whatever the last step committed, and attends over this step's positions alone. Medusa's
 * heads run once on the last hidden state, with no cache.
 * Early exit shares the trunk: drafting runs it on the pending token and the first γ−1 drafts,
 * verification on the last draft, so every token passes it once. A step emits τ(γ) units on average,
 * τ(γ) = 1 + Σ_{k≤γ} P(at least k drafts accepted), read off the acceptance run. So the predicted
 * units/s is τ(γ) / step time, and the predicted speedup its ratio to ar's 1 / full(1) at the same
 * target threads. Where the verification of γ+1 positions costs one ar step and a draft costs c of
 * one, this is Leviathan et al.'s (1 − α^(γ+1)) / ((1 − α)(γc + 1)); measuring v(T) = full(T)/full(1)
 * is what makes it hold on a CPU where v(6) is 1.4 rather than 1.
 */
import type { Strategy } from '../engine/decode.ts';
import type { ChainedDrafter } from '../engine/tensor-names.ts';

export type DraftingStrategy = Exclude<Strategy, 'ar'>;
/** The drafters calibration measures (at gamma maxGamma, 8 by default; medusa at most its heads). */
export const DRAFTING_STRATEGIES: readonly DraftingStrategy[] = ['eagle', 'draft', 'early-exit', 'layer-skip', 'medusa', 'prophet'];

/** Graphs whose cost is measured: the contract's roles, and each chained drafter's chain of one gamma. */
export type CostGraph =
  | 'full'
  | 'rest'
  | 'trunk'
  | 'exit_head'
  | 'eagle'
  | 'draft'
  | 'layer_skip'
  | 'medusa'
  | 'seed_prophet'
  | `${ChainedDrafter}_chain_${number}`;

export const chainGraph = (drafter: ChainedDrafter, gamma: number): CostGraph => `${drafter}_chain_${gamma}`;

/**
 * One measured cost: a graph's session run feeding `positions` new positions at the realistic cache
 * length, in a model loaded with this thread split (the split's other sessions ran in the same rounds,
 * so a verifying graph's thread pool spinning beside the drafting graphs is in the figure, as in a decode).
 */
export interface GraphCost {
  graph: CostGraph;
  /** The split: drafting graphs' intra-op threads, and the verifying graphs' (full, rest). */
  threads: number;
  targetThreads: number;
  positions: number;
  /** Median wall time of one call, engine's feed building and cache writes included. */
  ms: number;
}

/** How far each drafter's drafts go before the first rejection, measured greedy with `maxGamma` drafts a step. */
export interface AcceptanceProfile {
  maxGamma: number;
  /**
   * `reached[k]`: verification steps that accepted at least k drafts, k = 0 … maxGamma (reached[0]
   * counts every step). The acceptance at depth k is reached[k] / reached[k−1]. `maxGamma`: the most
   * drafts the drafter makes where fewer than the profile's (medusa: its heads); reached is 0 past it.
   */
  drafters: Partial<Record<DraftingStrategy, { reached: number[]; maxGamma?: number }>>;
  /** Mean cache length at a verification step (prompt and units so far): where costs are measured. */
  meanPosition: number;
  sentences: number;
  tokens: number;
}

/** A strategy, gamma and thread split (`threads`: the drafting graphs; `targetThreads`: full and rest). */
export interface Config {
  strategy: Strategy;
  /** 0 for ar. */
  gamma: number;
  threads: number;
  targetThreads: number;
}

export interface Prediction extends Config {
  /** Units per verification step, τ(γ). */
  unitsPerStep: number;
  stepMs: number;
  tokensPerSecond: number;
  /** Over ar's units/s with the same thread split (ar runs `full` alone, at the target's threads). */
  speedup: number;
}

/** τ(γ): units per step, the accepted drafts plus the target's own token. */
export function unitsPerStep(profile: AcceptanceProfile, drafter: DraftingStrategy, gamma: number): number {
  const reached = profile.drafters[drafter]?.reached;
  if (!reached || reached[0] === 0) return 1;
  let tau = 1;
  for (let k = 1; k <= Math.min(gamma, profile.maxGamma); k++) tau += reached[k] / reached[0];
  return tau;
}

/** The largest gamma a drafter was measured at and can run: the profile's, or fewer (medusa's heads). */
export function drafterMaxGamma(profile: AcceptanceProfile, drafter: DraftingStrategy): number {
  return Math.min(profile.maxGamma, profile.drafters[drafter]?.maxGamma ?? profile.maxGamma);
}

/** Acceptance at each depth 1 … the drafter's maxGamma: P(draft k accepted | drafts before it accepted). */
export function acceptanceByDepth(profile: AcceptanceProfile, drafter: DraftingStrategy): number[] {
  const reached = profile.drafters[drafter]?.reached ?? [];
  return reached.slice(1, drafterMaxGamma(profile, drafter) + 1).map((n, i) => (reached[i] > 0 ? n / reached[i] : 0));
}

/**
 * Positions a drafter feeds at a step's start, on average. EAGLE's cache keeps only positions
 * built from the target's hidden states, so it catches up on all τ units the last step committed; the
 * draft model (and layer skip) keeps its accepted drafts' keys and feeds the new token, and the last draft
 * too when all γ were accepted. The seed prophet starts each step afresh from [bos, pending token]: 2.
 */
export function catchUp(profile: AcceptanceProfile, drafter: Exclude<DraftingStrategy, 'early-exit' | 'medusa'>, gamma: number): number {
  if (drafter === 'prophet') return 2;
  if (drafter === 'eagle') return unitsPerStep(profile, drafter, gamma);
  const reached = profile.drafters[drafter]?.reached;
  const allAccepted = reached && reached[0] > 0 && gamma <= profile.maxGamma ? reached[gamma] / reached[0] : 0;
  return 1 + allAccepted;
}

type Split = Pick<Config, 'threads' | 'targetThreads'>;
/** The graphs that run with the target's threads (model.ts's TARGET_ROLES); the others run with `threads`. */
export const isTargetGraph = (graph: CostGraph): boolean => graph === 'full' || graph === 'rest';
const keyOf = (graph: CostGraph, split: Split): string => `${graph}@${split.threads}+${split.targetThreads}`;

/**
 * Looks measured costs up, each graph's costs made non-decreasing in the positions fed, interpolating
 * linearly between the nearest measured positions.
 */
export class CostTable {
  private readonly byKey = new Map<string, { positions: number; ms: number }[]>();

  constructor(costs: readonly GraphCost[]) {
    for (const c of costs) {
      const key = keyOf(c.graph, c);
      const list = this.byKey.get(key) ?? [];
      list.push({ positions: c.positions, ms: c.ms });
      this.byKey.set(key, list);
    }
    for (const list of this.byKey.values()) {
      list.sort((a, b) => a.positions - b.positions);
      // A call over more positions never costs less: noise that says otherwise is pooled away.
      const fitted = nonDecreasing(list.map((c) => c.ms));
      list.forEach((c, i) => (c.ms = fitted[i]));
    }
  }

  has(graph: CostGraph, split: Split): boolean {
    return this.byKey.has(keyOf(graph, split));
  }

  /** ms of one call feeding `positions` (fractional: interpolated); undefined when never measured. */
  ms(graph: CostGraph, split: Split, positions: number): number | undefined {
    const list = this.byKey.get(keyOf(graph, split));
    if (!list || list.length === 0) return undefined;
    if (positions <= list[0].positions) return list[0].ms;
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1];
      const b = list[i];
      if (positions <= b.positions) return a.ms + ((b.ms - a.ms) * (positions - a.positions)) / (b.positions - a.positions);
    }
    // Past the last measured point: extend the last segment's slope (a single point: flat).
    const last = list[list.length - 1];
    const prev = list[list.length - 2];
    return prev ? last.ms + ((last.ms - prev.ms) * (positions - last.positions)) / (last.positions - prev.positions) : last.ms;
  }
}

/**
 * The closest non-decreasing sequence in least squares (pool adjacent violators): runs of values that
 * fall are replaced by their mean.
 */
export function nonDecreasing(values: readonly number[]): number[] {
  const blocks: { sum: number; n: number }[] = [];
  for (const v of values) {
    blocks.push({ sum: v, n: 1 });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1];
      const prev = blocks[blocks.length - 2];
      if (prev.sum / prev.n <= last.sum / last.n) break;
      prev.sum += last.sum;
      prev.n += last.n;
      blocks.pop();
    }
  }
  return blocks.flatMap((b) => new Array<number>(b.n).fill(b.sum / b.n));
}

/** Step time of a configuration, ms; undefined when a cost it needs was not measured. */
export function stepMs(config: Config, table: CostTable, profile: AcceptanceProfile): number | undefined {
  const { strategy, gamma } = config;
  if (strategy !== 'ar' && gamma > drafterMaxGamma(profile, strategy)) return undefined;
  const t = (graph: CostGraph, positions: number): number | undefined => table.ms(graph, config, positions);
  const sum = (...parts: (number | undefined)[]): number | undefined =>
    parts.some((p) => p === undefined) ? undefined : parts.reduce<number>((a, p) => a + p!, 0);
  switch (strategy) {
    case 'ar':
      return t('full', 1);
    case 'eagle':
    case 'draft': {
      const c = catchUp(profile, strategy, gamma);
      const chain = chainGraph(strategy, gamma);
      if (table.has(chain, config)) return sum(t(chain, c), t('full', gamma + 1));
      // One run per drafted token: the first catches up, the others feed one draft each.
      const rest = gamma > 1 ? t(strategy, 1) : 0;
      return sum(t(strategy, c), rest === undefined ? undefined : (gamma - 1) * rest, t('full', gamma + 1));
    }
    case 'early-exit': {
      const trunk = t('trunk', 1);
      const head = t('exit_head', 1);
      if (trunk === undefined || head === undefined) return undefined;
      return sum((gamma + 1) * trunk, gamma * head, t('rest', gamma + 1));
    }
    case 'layer-skip': {
      const rest = gamma > 1 ? t('layer_skip', 1) : 0;
      return sum(t('layer_skip', catchUp(profile, strategy, gamma)), rest === undefined ? undefined : (gamma - 1) * rest, t('full', gamma + 1));
    }
    case 'medusa':
      return sum(t('medusa', 1), t('full', gamma + 1));
    case 'prophet': {
      const chain = chainGraph('seed_prophet', gamma);
      if (table.has(chain, config)) return sum(t(chain, 2), t('full', gamma + 1));
      const rest = gamma > 1 ? t('seed_prophet', 1) : 0;
      return sum(t('seed_prophet', 2), rest === undefined ? undefined : (gamma - 1) * rest, t('full', gamma + 1));
    }
  }
}

/** The predicted units/s and speedup of one configuration; undefined when it cannot be predicted. */
export function predict(config: Config, table: CostTable, profile: AcceptanceProfile): Prediction | undefined {
  const ms = stepMs(config, table, profile);
  const arMs = table.ms('full', config, 1);
  if (ms === undefined || arMs === undefined || ms <= 0) return undefined;
  const units = config.strategy === 'ar' ? 1 : unitsPerStep(profile, config.strategy, config.gamma);
  const tokensPerSecond = (1000 * units) / ms;
  return { ...config, unitsPerStep: units, stepMs: ms, tokensPerSecond, speedup: tokensPerSecond / (1000 / arMs) };
}

export interface ChoiceOptions {
  /** Strategies the voice can run (its graphs). */
  strategies: readonly Strategy[];
  /** Gammas tried, default 1 … profile.maxGamma. */
  gammas?: readonly number[];
  /** Drafting-graph thread counts tried. */
  threads: readonly number[];
  /** Verifying-graph thread counts tried. */
  targetThreads: readonly number[];
  /**
   * Predictions within this share of the fastest count as ties, and the tie with the fewest threads
   * (then the smallest gamma) wins: a thread more or a longer draft for a 1 % gain is within the
   * measurement's noise on a shared machine, and costs the speaker, which runs beside the decoder in
   * synthesis, a core. Default 0.02.
   */
  tolerance?: number;
}

export interface Choice {
  /** The fastest configuration overall. */
  best: Prediction;
  /** The fastest configuration of each strategy (a user who picks a strategy gets its gamma and threads). */
  byStrategy: Partial<Record<Strategy, Prediction>>;
}

/** Every prediction the options allow. */
export function predictAll(table: CostTable, profile: AcceptanceProfile, options: ChoiceOptions): Prediction[] {
  const gammas = options.gammas ?? Array.from({ length: profile.maxGamma }, (_, i) => i + 1);
  const out: Prediction[] = [];
  for (const strategy of options.strategies) {
    if (strategy !== 'ar' && !profile.drafters[strategy]) continue;
    for (const targetThreads of options.targetThreads) {
      // ar runs no drafting graph: the fewest drafting threads, whose sessions sit idle.
      const threadsTried = strategy === 'ar' ? [Math.min(...options.threads)] : options.threads;
      for (const threads of threadsTried) {
        for (const gamma of strategy === 'ar' ? [0] : gammas) {
          const p = predict({ strategy, gamma, threads, targetThreads }, table, profile);
          if (p) out.push(p);
        }
      }
    }
  }
  return out;
}

/** Picks the fastest, with near-ties going to fewer threads and then to a smaller gamma. */
export function pickFastest(predictions: readonly Prediction[], tolerance = 0.02): Prediction | undefined {
  if (predictions.length === 0) return undefined;
  const top = Math.max(...predictions.map((p) => p.tokensPerSecond));
  const near = predictions.filter((p) => p.tokensPerSecond >= top * (1 - tolerance));
  near.sort((a, b) => a.threads + a.targetThreads - (b.threads + b.targetThreads) || a.gamma - b.gamma || b.tokensPerSecond - a.tokensPerSecond);
  return near[0];
}

export function choose(table: CostTable, profile: AcceptanceProfile, options: ChoiceOptions): Choice | undefined {
  const all = predictAll(table, profile, options);
  const best = pickFastest(all, options.tolerance);
  if (!best) return undefined;
  const byStrategy: Partial<Record<Strategy, Prediction>> = {};
  for (const strategy of options.strategies) {
    const p = pickFastest(
      all.filter((x) => x.strategy === strategy),
      options.tolerance,
    );
    if (p) byStrategy[strategy] = p;
  }
  return { best, byStrategy };
}
