/**
 * The two measurements calibration combines (cost-model.ts):
 *
 * - acceptance per depth: the real decoder, greedy, each drafter at gamma maxGamma (medusa at most its
 *   heads), on the bench texts
 *   (a voice) or on fixed prompts (a decoder without a phoneme range, as the test fixtures). Greedy
 *   drafts depend only on the prefix, so how far the drafts of one step go before the first rejection
 *   is the same at every gamma up to the one run: one run per drafter gives τ(γ) for every γ ≤ maxGamma.
 * - graph costs: each step of each strategy and gamma run as the engine runs it (Graph.run, feeds built
 *   and the new keys written into a KvCache) around the acceptance run's mean cache length, at each
 *   split of threads, every call timed; all steps interleaved in rounds so that load from other
 *   processes hits every graph alike, and each call's first quartile kept.
 */
import { readFile } from 'node:fs/promises';
import { decode, gammaLimit, STRATEGY_GRAPHS } from '../engine/decode.ts';
import type { Graph } from '../engine/graph.ts';
import { KvCache } from '../engine/kv-cache.ts';
import { loadModel, type LoadedModel } from '../engine/model.ts';
import type { ChainedDrafter, GraphRole } from '../engine/tensor-names.ts';
import { CancelledError } from '../errors.ts';
import { BENCH_TEXTS_URL } from '../eval/bench-texts.ts';
import { readingRules, type VoiceSection } from '../pipeline/voice.ts';
import { prepareDocument } from '../text/index.ts';
import {
  catchUp,
  chainGraph,
  DRAFTING_STRATEGIES,
  drafterMaxGamma,
  isTargetGraph,
  type AcceptanceProfile,
  type CostGraph,
  type DraftingStrategy,
  type GraphCost,
} from './cost-model.ts';

export type Progress = (fraction: number, label: string) => void;

export interface Prompts {
  prompts: number[][];
  maxNewTokens: number[];
  /** "bench texts" or "fixed prompts". */
  source: string;
}

/**
 * The bench texts as decoder prompts with the voice's stop rule, with the pipeline's own rules (readingRules, pipeline/voice.ts)
 * ([bos, phonemes…, sep]; units at most ceil(per_phoneme × phonemes + base)). A decoder that is not a
 * voice (no phoneme range or stop rule, like the test fixtures) gets 16 fixed pseudo-random prompts.
 */
export async function calibrationPrompts(model: LoadedModel): Promise<Prompts> {
  const { vocab, context } = model.manifest;
  const maxUnits = (model.manifest as { voice?: Partial<VoiceSection> }).voice?.max_units;
  if (vocab.phonemes && maxUnits) {
    const rules = readingRules(model.manifest, maxUnits);
    const text = await readFile(BENCH_TEXTS_URL, 'utf8');
    const sentences = prepareDocument(
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .join('\n\n'),
      { maxPhonemes: rules.maxPhonemes },
    ).filter((s) => s.phonemeIds.length > 0);
    const phonemes = sentences.map((s) => s.phonemeIds.slice(0, rules.maxPhonemes));
    return {
      prompts: phonemes.map((ids) => rules.prompt(ids)),
      maxNewTokens: phonemes.map((ids) => rules.maxUnits(ids.length)),
      source: 'bench texts',
    };
  }
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const first = vocab.special.eos + 1;
  const prompts = Array.from({ length: 16 }, (_, i) => [
    vocab.special.bos,
    ...Array.from({ length: 6 + (i % 7) }, () => first + (next() % (vocab.size - first))),
    vocab.special.sep,
  ]);
  return { prompts, maxNewTokens: prompts.map((p) => Math.max(1, Math.min(64, context - p.length - 16))), source: 'fixed prompts' };
}

/** The drafting strategies a model has every graph of. */
export function draftingStrategiesOf(model: Pick<LoadedModel, 'graphs'>): DraftingStrategy[] {
  return DRAFTING_STRATEGIES.filter((s) => STRATEGY_GRAPHS[s].every((role) => model.graphs[role]));
}

/**
 * Acceptance per depth of each drafter, greedy, all prompts decoded as one batch at gamma maxGamma (a
 * drafter that drafts fewer, medusa with fewer heads, at its own largest gamma, kept as its maxGamma).
 */
export async function measureAcceptance(
  model: LoadedModel,
  input: Prompts,
  options: { maxGamma?: number; signal?: AbortSignal; onProgress?: Progress } = {},
): Promise<AcceptanceProfile> {
  const maxGamma = options.maxGamma ?? 8;
  const strategies = draftingStrategiesOf(model);
  const drafters: AcceptanceProfile['drafters'] = {};
  let positionSum = 0;
  let positionSteps = 0;
  let tokens = 0;
  for (const [i, strategy] of strategies.entries()) {
    options.onProgress?.(i / strategies.length, `acceptance of ${strategy}`);
    const gamma = Math.min(maxGamma, gammaLimit(model, strategy));
    const reached = new Array<number>(maxGamma + 1).fill(0);
    // Each row's committed length at the start of its step: where the step's graphs ran.
    const length = input.prompts.map((p) => p.length);
    const result = await decode(model, input.prompts, {
      strategy,
      gamma,
      temperature: 0,
      maxNewTokens: input.maxNewTokens,
      signal: options.signal,
      onEvent: (event) => {
        if (event.type !== 'step') return;
        for (let k = 0; k <= event.accepted; k++) reached[k]++;
        positionSum += length[event.row];
        positionSteps++;
        length[event.row] += event.emitted;
      },
    });
    drafters[strategy] = gamma < maxGamma ? { reached, maxGamma: gamma } : { reached };
    tokens = result.summary.tokens;
  }
  return { maxGamma, drafters, meanPosition: positionSteps > 0 ? positionSum / positionSteps : 0, sentences: input.prompts.length, tokens };
}

export interface PlanItem {
  graph: CostGraph;
  positions: number;
}

/** A thread split: the drafting graphs' intra-op threads and the verifying graphs' (full, rest). */
export interface Split {
  threads: number;
  targetThreads: number;
}

export interface CostPlan {
  /** Each split is timed in its own model, loaded with it. */
  splits: Split[];
  /**
   * The graph calls of one verification step of each strategy and gamma, in the engine's order, timed
   * in every split. A graph costs more right after another graph has run than in a loop of its own (the
   * eagle's chain of 6 took 0.61-0.81 ms in a loop and 0.96-1.41 ms between `full` calls, in CPU
   * time: the other graph's weights evict its own from the caches), so each call is timed in its step.
   */
  steps: { label: string; calls: PlanItem[] }[];
}

export interface PlanOptions {
  /** Drafting-graph thread counts. */
  threads: readonly number[];
  /** Verifying-graph (full, rest) thread counts. */
  targetThreads: readonly number[];
  /** Gammas each chained drafter has a chain for. */
  chainGammas: Partial<Record<ChainedDrafter, readonly number[]>>;
  /** Strategies to plan for (ar is always planned). */
  strategies: readonly DraftingStrategy[];
}

/** Thread counts worth timing on `cores` cores: drafting graphs 1 and 2, the target's up to 8. */
export function threadCandidates(cores: number): { threads: number[]; targetThreads: number[] } {
  const withinCores = (ns: number[]): number[] => ns.filter((n) => n === 1 || n <= cores);
  return { threads: withinCores([1, 2]), targetThreads: withinCores([1, 2, 4, 8]) };
}

/** Gammas whose steps are timed where a step's graphs are the same at every gamma (no chain). */
const SAMPLED_GAMMAS = [1, 2, 3, 4, 6, 8];

/** The graph each stepwise drafter runs once per draft, and its chains' drafter. */
const DRAFT_GRAPH = { eagle: 'eagle', draft: 'draft', 'layer-skip': 'layer_skip', prophet: 'seed_prophet' } as const;
const CHAINED: Partial<Record<DraftingStrategy, ChainedDrafter>> = { eagle: 'eagle', draft: 'draft', prophet: 'seed_prophet' };

/**
 * One step of each strategy and gamma as decode.ts runs it (cost-model.ts): ar's `full` on one
 * position; the chain (or, where there is none, the drafter's graph once per draft) at its expected
 * catch-up, rounded (the seed prophet's: 2, [bos, pending token]), then `full` on γ+1 positions; medusa's
 * heads on one position, then `full`; early exit's trunk and head per draft, the trunk on the last draft
 * and `rest` on γ+1 positions. Every gamma with a chain is timed (each is its own graph); without one,
 * gammas 1-4, 6 and 8 (and the drafter's largest), the cost table interpolating the rest. A drafter
 * is planned up to its own largest gamma (medusa: its heads).
 */
export function costPlan(profile: AcceptanceProfile, options: PlanOptions): CostPlan {
  const steps: CostPlan['steps'] = [{ label: 'ar', calls: [{ graph: 'full', positions: 1 }] }];
  const call = (graph: CostGraph, positions: number): PlanItem => ({ graph, positions: Math.max(1, positions) });
  for (const strategy of options.strategies) {
    if (!profile.drafters[strategy]) continue;
    const chained = CHAINED[strategy];
    const chains = new Set(chained ? (options.chainGammas[chained] ?? []) : []);
    const largest = drafterMaxGamma(profile, strategy);
    for (let gamma = 1; gamma <= largest; gamma++) {
      if (!chains.has(gamma) && !SAMPLED_GAMMAS.includes(gamma) && gamma !== largest) continue;
      const calls: PlanItem[] = [];
      if (strategy === 'early-exit') {
        for (let i = 0; i < gamma; i++) calls.push(call('trunk', 1), call('exit_head', 1));
        calls.push(call('trunk', 1), call('rest', gamma + 1));
      } else if (strategy === 'medusa') {
        calls.push(call('medusa', 1), call('full', gamma + 1));
      } else {
        const c = Math.round(catchUp(profile, strategy, gamma));
        const graph = DRAFT_GRAPH[strategy];
        if (chained && chains.has(gamma)) calls.push(call(chainGraph(chained, gamma), c));
        else for (let i = 0; i < gamma; i++) calls.push(call(graph, i === 0 ? c : 1));
        calls.push(call('full', gamma + 1));
      }
      steps.push({ label: `${strategy} γ ${gamma}`, calls });
    }
  }
  const splits = options.threads.flatMap((threads) => options.targetThreads.map((targetThreads) => ({ threads, targetThreads })));
  return { splits, steps };
}

/** The distinct calls of a plan. */
export function planItems(plan: Pick<CostPlan, 'steps'>): PlanItem[] {
  const items = new Map<string, PlanItem>();
  for (const step of plan.steps) for (const c of step.calls) items.set(`${c.graph}@${c.positions}`, c);
  return [...items.values()];
}

/**
 * The first quartile: load from other processes only ever adds time, and on a busy machine it adds a
 * lot to some calls, so a low quantile tracks the graph's own cost better than the median.
 */
const lowerQuartile = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) / 4;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
};

export interface CostOptions {
  /** Mean cache length the graphs attend over (the acceptance run's). */
  position: number;
  /** Measured rounds after one warm-up round, every step of every split once per round. Default 5. */
  rounds?: number;
  /**
   * Called after the first measured round with the costs so far: the splits it rejects are not timed
   * again (their costs stay those of that round). Default: every split is timed every round.
   */
  keepSplit?: (costs: readonly GraphCost[]) => (split: Split) => boolean;
  signal?: AbortSignal;
  onProgress?: Progress;
}

/**
 * Times every plan step in every split, each call on its own, the step run twice and the second
 * timed. One model is loaded per thread count,
 * and a split's calls take its drafting graphs from the model of its drafting threads and full and rest
 * from the one of its target threads: the same sessions a model loaded with that split would hold. A
 * round runs each split's steps as one block (so a verifying graph's thread pool spins beside the
 * drafting graphs as in a decode), rounds rotate the order, and each cost is the first quartile of its
 * calls, so drift and other processes' load hit every split alike.
 */
export async function measureCosts(dir: string, plan: CostPlan, options: CostOptions): Promise<GraphCost[]> {
  const items = planItems(plan);
  const drafting = new Set(plan.splits.map((s) => s.threads));
  const verifying = new Set(plan.splits.map((s) => s.targetThreads));
  const draftRoles = [...new Set(items.filter((p) => !isTargetGraph(p.graph)).map((p) => roleOf(p.graph)))];
  const targetRoles = [...new Set(items.filter((p) => isTargetGraph(p.graph)).map((p) => roleOf(p.graph)))];
  const models = new Map<number, LoadedModel>();
  try {
    for (const n of new Set([...drafting, ...verifying])) {
      abortIfAsked(options.signal);
      const roles = [...(drafting.has(n) ? draftRoles : []), ...(verifying.has(n) ? targetRoles : [])];
      models.set(n, await loadModel(dir, { threads: n, targetThreads: n, roles }));
    }
    type Timed = { cost: Omit<GraphCost, 'ms'>; run: () => Promise<void>; times: number[] };
    const timed: Timed[] = [];
    const blocks: Timed[][][] = [];
    for (const split of plan.splits) {
      const bySplit = new Map<string, Timed>();
      for (const item of items) {
        const model = models.get(isTargetGraph(item.graph) ? split.targetThreads : split.threads)!;
        const t = { cost: { ...item, ...split }, run: await runnerFor(model, item, Math.round(options.position)), times: [] };
        bySplit.set(`${item.graph}@${item.positions}`, t);
        timed.push(t);
      }
      blocks.push(plan.steps.map((step) => step.calls.map((c) => bySplit.get(`${c.graph}@${c.positions}`)!)));
    }
    const rounds = options.rounds ?? 5;
    const costs = (): GraphCost[] => timed.filter((t) => t.times.length > 0).map((t) => ({ ...t.cost, ms: lowerQuartile(t.times) }));
    let active = blocks.map((_, i) => i);
    for (let round = 0; round <= rounds; round++) {
      options.onProgress?.(round / (rounds + 1), round === 0 ? 'warming the graphs up' : `timing the graphs, round ${round} of ${rounds}`);
      if (round === 2 && options.keepSplit) {
        const keep = options.keepSplit(costs());
        active = active.filter((i) => keep(plan.splits[i]));
      }
      for (let b = 0; b < active.length; b++) {
        const steps = blocks[active[(b + round) % active.length]];
        for (let i = 0; i < steps.length; i++) {
          abortIfAsked(options.signal);
          // Twice, timing the second: a decode runs one configuration's steps back to back, so its calls
          // find the caches as the same step left them, not as another configuration's step did.
          for (let repeat = 0; repeat < 2; repeat++) {
            for (const t of steps[(i + round * 7) % steps.length]) {
              const t0 = performance.now();
              await t.run();
              if (round > 0 && repeat === 1) t.times.push(performance.now() - t0);
            }
          }
        }
      }
    }
    return costs();
  } finally {
    for (const model of models.values()) await model.release();
  }
}

function abortIfAsked(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('calibration');
}

const CHAIN_GRAPH = /^(eagle|draft|seed_prophet)_chain_(\d+)$/;

function roleOf(graph: CostGraph): GraphRole {
  const m = CHAIN_GRAPH.exec(graph);
  return (m ? m[1] : graph) as GraphRole;
}

/**
 * One call of the item as the engine makes it: `positions` new tokens after a cached past that changes
 * from call to call, spread evenly over half to one and a half times `position` (its mean stays
 * `position`). A decode never calls a graph twice with the same past length, and ONNX Runtime runs a
 * graph at a past length it has just seen faster: the same `full` call measured 1.04 ms at a fixed past
 * of 108 positions and 1.33 ms over pasts of 60 to 210 (mean 135), where fixed pasts of 108 and 200 gave
 * 1.04 and 1.23 ms (AMD EPYC, 2 cores, shared). The seed prophet's cache holds this step's positions
 * alone: its first call (or chain) reads [bos, pending token] over an empty past, each later call one
 * draft over 2 to 8 positions. Medusa's heads keep no cache.
 */
async function runnerFor(model: LoadedModel, item: PlanItem, position: number): Promise<() => Promise<void>> {
  const chain = CHAIN_GRAPH.exec(item.graph);
  const graph: Graph = chain ? await model.chains[chain[1] as ChainedDrafter].graph(Number(chain[2])) : model.graphs[item.graph as GraphRole]!;
  const gamma = chain ? Number(chain[2]) : 0;
  const hidden = Float32Array.from({ length: graph.hiddenDim }, (_, i) => Math.sin(i) * 0.5);
  const counts = Int32Array.of(item.positions);
  if (roleOf(item.graph) === 'medusa') {
    const starts = Int32Array.of(Math.max(0, Math.round(position)));
    const feed = { rows: 1, counts, starts, hiddenAt: (_s: number, _i: number, out: Float32Array, offset: number) => out.set(hidden, offset) };
    return async () => {
      await graph.run(null, feed);
    };
  }
  let shortest: number;
  let longest: number;
  if (roleOf(item.graph) === 'seed_prophet') {
    [shortest, longest] = item.positions >= 2 ? [0, 0] : [2, 8];
  } else {
    longest = Math.max(1, Math.min(Math.round(1.5 * position), model.manifest.context - item.positions - gamma - 2));
    shortest = Math.max(1, Math.min(Math.round(0.5 * position), longest));
  }
  const span = longest - shortest + 1;
  const cache = KvCache.forGraph(graph.entry, 1, longest + item.positions + gamma + 2);
  cache.reserve(longest);
  const { vocab } = model.manifest;
  const token = vocab.units ? vocab.units.offset : vocab.special.eos + 1;
  const feed = {
    rows: 1,
    counts,
    tokenAt: (_s: number, i: number) => token + (i % 7),
    hiddenAt: (_s: number, _i: number, out: Float32Array, offset: number) => out.set(hidden, offset),
  };
  // A stride coprime with most spans walks the whole range before it repeats a past length.
  let call = 0;
  return async () => {
    cache.lengths[0] = shortest + ((call++ * 37) % span);
    await graph.run(cache, feed);
  };
}
