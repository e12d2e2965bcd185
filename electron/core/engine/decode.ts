/**
 * The engine's one entry point: decode a batch of prompts with a strategy.
 *
 *   ar          the target (`full`) alone, one session run per token;
 *   draft       a separate small decoder drafts, `full` verifies;
 *   layer-skip  the target with some sublayers skipped (`layer_skip`) drafts, `full` verifies;
 *   early-exit  `trunk` + `exit_head` draft, `rest` verifies on the trunk's cached hidden states;
 *   eagle       a drafter fed the target's final hidden states drafts, `full` verifies;
 *   medusa      heads on the target's final hidden state draft gamma tokens in one run, `full` verifies;
 *               with `tree`, a tree of the heads' candidates verified in one call (tree.ts);
 *   prophet     the seed's prophet, a small decoder started from the target's final hidden state, drafts, `full` verifies.
 *
 * Each row advances at its own rate and leaves the batch when it stops; its randomness is its own.
 * Sampling with `drafts` K > 1, each row drafts K sequences per step and SpecTr verifies them (spectr.ts).
 */
import { DecodeAbortedError, DecodeOptionError, PromptError } from '../errors.ts';
import type { Chains, LoadedModel } from './model.ts';
import type { GraphCall, Graph } from './graph.ts';
import { TokenPicker } from './picker.ts';
import { argmax } from './sampling.ts';
import { SEED_LIMIT, seededUniform } from './random.ts';
import { SlotTable, type Drafts, type FinishReason, type RowState } from './rows.ts';
import { SpecTrRows } from './spectr.ts';
import { StatsAggregator, type DecodeEvent, type DecodeSummary, type StepEvent } from './stats.ts';
import { FullTarget } from './target.ts';
import { TreeShape, treeProblem, treeStep, type TreeSpec } from './tree.ts';
import { verifyGreedy, verifySampled, verifySampledGroups, type UnitGroups, type VerifyOutput } from './verify.ts';
import { DraftModelDrafter } from './drafters/draft-model.ts';
import { LayerSkipDrafter } from './drafters/layer-skip.ts';
import { EarlyExitDrafter, EarlyExitTarget, Trunk } from './drafters/early-exit.ts';
import { EagleDrafter } from './drafters/eagle.ts';
import { MedusaDrafter } from './drafters/medusa.ts';
import { ProphetDrafter } from './drafters/prophet.ts';
import type { DraftLimit, Drafter, StrategyEnv, Target } from './drafters/types.ts';
import type { GraphRole } from './tensor-names.ts';

export const STRATEGIES = ['ar', 'draft', 'early-exit', 'eagle', 'layer-skip', 'medusa', 'prophet'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Graphs each strategy runs. */
export const STRATEGY_GRAPHS: Record<Strategy, readonly GraphRole[]> = {
  ar: ['full'],
  draft: ['full', 'draft'],
  'layer-skip': ['full', 'layer_skip'],
  'early-exit': ['trunk', 'rest', 'exit_head'],
  eagle: ['full', 'eagle'],
  medusa: ['full', 'medusa'],
  prophet: ['full', 'seed_prophet'],
};

export interface DecodeOptions {
  /** Default 'ar'. */
  strategy?: Strategy;
  /**
   * Drafted tokens per step, 1 to 64 ('medusa': 1 to its heads); ignored by 'ar'. Default 4 ('medusa':
   * at most its heads). 'auto' (adaptive gamma, any strategy but 'ar'): up to `maxGamma` per step, each
   * row stopping before the first draft whose confidence is below `draftConfidence` (see DraftLimit).
   */
  gamma?: number | 'auto';
  /** With gamma 'auto': the most drafts per step, 1 to 64 ('medusa': to its heads). Default AUTO_MAX_GAMMA ('medusa': at most its heads). */
  maxGamma?: number;
  /** With gamma 'auto': the confidence threshold, in (0, 1). Default DEFAULT_DRAFT_CONFIDENCE. */
  draftConfidence?: number;
  /**
   * Lossy, off by default: accept a draft that falls in the target's unit group (verify.ts UnitGroups).
   * The output then no longer equals ar's (greedy) nor has the target's distribution (sampled).
   */
  acceptGroups?: UnitGroups;
  /**
   * Drafts per row and step, K, 1 to MAX_DRAFTS. Default 1. K > 1 (sampling with a drafter only): each
   * row drafts K sequences of gamma tokens independently from q, all rows' drafts in one batch, and
   * SpecTr's K-SEQ verifies them together (verifySpecTr): still the target's distribution, with more
   * accepted per step. Each draft takes a cache slot of its own in every cache.
   */
  drafts?: number;
  /**
   * 0 = greedy; otherwise from MIN_TEMPERATURE (1e-3) to MAX_TEMPERATURE (100). Default 0. Below 1e-3
   * sampling is an argmax anyway (a logit gap of 0.75 already gives exp(−750) = 0 in float64), and a
   * subnormal temperature would make 1/T infinite and every distribution NaN.
   */
  temperature?: number;
  /** Keep the k most likely tokens (≥ 1); undefined keeps all. */
  topK?: number;
  /** Nucleus mass in (0, 1]; undefined (or 1) keeps all. */
  topP?: number;
  /** Seed of every row's random source (row r uses stream r): an integer in [0, 2^32). Default 0. */
  seed?: number;
  /**
   * Per-row seeds, integers in [0, 2^32), overriding `seed`: a row with the same seed decodes the same
   * in any batch.
   */
  seeds?: readonly number[];
  /** Token that ends a row; default the manifest's stop_token; null: rows end only at maxNewTokens. */
  stopToken?: number | null;
  /** New tokens per row at most (one number for all rows, or one per row). Default 256. */
  maxNewTokens?: number | readonly number[];
  signal?: AbortSignal;
  /** Called once per verification step per row, and once for the prefill. */
  onEvent?: (event: DecodeEvent) => void;
  /**
   * Drafting of one row (eagle, draft, prophet), greedy or sampled with temperature alone, in one session run
   * where the model has a chain for this gamma (the manifest's "chains"); the drafts are the same either
   * way (sampled: for the same seed). Default true; false runs the drafter's graph once per drafted token
   * (tests and benchmarks compare the two).
   */
  chains?: boolean;
  /** Called for every graph run, per row (tests use it to count trunk passes). */
  onGraphCall?: (call: GraphCall) => void;
  /**
   * 'medusa' only: verify a tree of the heads' candidates instead of one chain (tree.ts), all scored in
   * one call of a `full` that reads tree_mask. Given as the candidates kept per depth, `[3, 2, 1]`: head
   * 1's top 3, under each head 2's top 2, under each head 3's top 1 (15 nodes); or as its nodes, each the
   * ranks along its path (Medusa's sparse trees): `[[0], [1], [0, 0]]`. The depth (at most the heads)
   * takes gamma's place; at most MAX_TREE_NODES nodes. Default: a chain.
   */
  tree?: TreeSpec;
}

export interface RowResult {
  /** Generated tokens, without the prompt and without the stop token. */
  tokens: number[];
  finishReason: FinishReason;
}

export interface DecodeResult {
  rows: RowResult[];
  summary: DecodeSummary;
  /** Wall time of the whole call. */
  ms: number;
  tokensPerSecond: number;
}

/** The largest gamma a strategy drafts on this model: 64, or for 'medusa' its graph's heads. */
export function gammaLimit(model: Pick<LoadedModel, 'graphs'>, strategy: Strategy): number {
  return strategy === 'medusa' ? (model.graphs.medusa?.entry.heads ?? 64) : 64;
}

/**
 * Why `model` verifies no draft tree, or null when it does: its full graph reads no tree_mask, or its entry
 * says "trees": false (the int8 target verifies chains exactly, not trees).
 */
export function treeRefusal(model: Pick<LoadedModel, 'graphs' | 'manifest'>): string | null {
  const full = model.graphs.full;
  if (!full?.hasTreeMask) return `left out with this model: its full graph (${full?.entry.file}) reads no tree_mask`;
  if (full.entry.trees === false) {
    const target = model.manifest.target ? `the ${model.manifest.target} target` : 'this target';
    return `left out with ${target}: its full graph (${full.entry.file}) verifies chains exactly, not trees (--target float32 verifies trees)`;
  }
  return null;
}

/** Adaptive gamma's defaults: the most drafts per step (the longest chain a voice ships) and the threshold. */
export const AUTO_MAX_GAMMA = 8;
export const DEFAULT_DRAFT_CONFIDENCE = 0.5;
/** The most drafts per row and step (DecodeOptions.drafts). */
export const MAX_DRAFTS = 8;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isSeed = (v: unknown): v is number => isInt(v) && v >= 0 && v < SEED_LIMIT;

/** The sampling temperatures decode accepts besides 0 (greedy); see DecodeOptions.temperature. */
export const MIN_TEMPERATURE = 1e-3;
export const MAX_TEMPERATURE = 100;

/**
 * The most tokens a step drafts under `options` (0 for 'ar'): a tree's depth, else gamma (under adaptive
 * gamma its maximum), capped by what the model's drafter can draft. DecodeSummary.gamma reports it.
 */
export function draftLength(model: Pick<LoadedModel, 'graphs'>, options: DecodeOptions): number {
  const strategy = options.strategy ?? 'ar';
  if (options.tree) return new TreeShape(options.tree).depth;
  if (strategy === 'ar') return 0;
  const asked = options.gamma === 'auto' ? (options.maxGamma ?? AUTO_MAX_GAMMA) : (options.gamma ?? 4);
  return Math.min(asked, gammaLimit(model, strategy));
}

/** Throws the DecodeOptionError `decode` would throw for these prompts and options; nothing is run. */
export function checkOptions(model: LoadedModel, prompts: readonly (readonly number[])[], o: DecodeOptions): void {
  const strategy = o.strategy ?? 'ar';
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    throw new DecodeOptionError('strategy', strategy, `one of ${STRATEGIES.join(', ')}`);
  }
  const missing = STRATEGY_GRAPHS[strategy].filter((role) => !model.graphs[role]);
  if (missing.length > 0) {
    throw new DecodeOptionError('strategy', strategy, `this model (${model.dir}) lacks graph(s) ${missing.join(', ')}`);
  }
  if (o.gamma === 'auto') {
    if (strategy === 'ar') throw new DecodeOptionError('gamma', 'auto', "a number: 'ar' drafts nothing, so there is no draft length to adapt");
  } else if (o.gamma !== undefined && (!isInt(o.gamma) || o.gamma < 1 || o.gamma > 64)) {
    throw new DecodeOptionError('gamma', o.gamma, "an integer from 1 to 64, or 'auto'");
  }
  if (o.maxGamma !== undefined && (!isInt(o.maxGamma) || o.maxGamma < 1 || o.maxGamma > 64)) {
    throw new DecodeOptionError('maxGamma', o.maxGamma, 'an integer from 1 to 64');
  }
  if (strategy === 'medusa') {
    // One run of the heads gives all of a step's drafts: no more than there are heads.
    const heads = gammaLimit(model, strategy);
    const [option, value] = o.gamma === 'auto' ? ['maxGamma', o.maxGamma] : ['gamma', o.gamma];
    if (typeof value === 'number' && value > heads) {
      throw new DecodeOptionError(option, value, `at most ${heads} with 'medusa': this model's medusa graph has ${heads} heads`);
    }
  }
  if (o.tree !== undefined) {
    if (strategy !== 'medusa') throw new DecodeOptionError('tree', o.tree, "left out: only 'medusa' drafts a tree");
    const problem = treeProblem(o.tree, gammaLimit(model, strategy), model.vocabSize);
    if (problem) throw new DecodeOptionError('tree', o.tree, problem);
    const refusal = treeRefusal(model);
    if (refusal) throw new DecodeOptionError('tree', o.tree, refusal);
    const clash = (['gamma', 'maxGamma', 'draftConfidence', 'acceptGroups'] as const).find((k) => o[k] !== undefined);
    if (clash) throw new DecodeOptionError(clash, o[clash], "left out with a tree: the tree's depth is its draft length, and its tokens are verified exactly");
    if (o.drafts !== undefined && o.drafts !== 1) throw new DecodeOptionError('drafts', o.drafts, '1 with a tree: the tree holds its own candidates');
  }
  const c = o.draftConfidence;
  if (c !== undefined && !(typeof c === 'number' && c > 0 && c < 1)) throw new DecodeOptionError('draftConfidence', c, 'a number in (0, 1)');
  if ((o.maxGamma !== undefined || c !== undefined) && o.gamma !== 'auto') {
    throw new DecodeOptionError(o.maxGamma !== undefined ? 'maxGamma' : 'draftConfidence', o.maxGamma ?? c, "set only with gamma 'auto'");
  }
  const t = o.temperature;
  if (t !== undefined && !(t === 0 || (typeof t === 'number' && t >= MIN_TEMPERATURE && t <= MAX_TEMPERATURE))) {
    throw new DecodeOptionError('temperature', t, `0 (greedy) or a number from ${MIN_TEMPERATURE} to ${MAX_TEMPERATURE}`);
  }
  const K = o.drafts;
  if (K !== undefined && (!isInt(K) || K < 1 || K > MAX_DRAFTS)) throw new DecodeOptionError('drafts', K, `an integer from 1 to ${MAX_DRAFTS}`);
  if (K !== undefined && K > 1) {
    if (strategy === 'ar') throw new DecodeOptionError('drafts', K, "1: 'ar' drafts nothing, so there are no drafts to multiply");
    if (!t) throw new DecodeOptionError('drafts', K, '1 at temperature 0: greedy drafts are all the same draft (set a temperature to sample K drafts)');
    if (o.acceptGroups) throw new DecodeOptionError('drafts', K, '1 with acceptGroups: SpecTr verifies tokens, not unit groups');
  }
  if (o.topK !== undefined && (!isInt(o.topK) || o.topK < 1)) {
    throw new DecodeOptionError('topK', o.topK, 'an integer ≥ 1 (leave it out to keep every token)');
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) {
    throw new DecodeOptionError('topP', o.topP, 'a number in (0, 1]');
  }
  const V = model.vocabSize;
  if (o.stopToken !== undefined && o.stopToken !== null && (!isInt(o.stopToken) || o.stopToken < 0 || o.stopToken >= V)) {
    throw new DecodeOptionError('stopToken', o.stopToken, `a token id in [0, ${V})`);
  }
  const maxNew = o.maxNewTokens;
  const maxNewValues = maxNew === undefined ? [] : typeof maxNew === 'number' ? [maxNew] : maxNew;
  if (typeof maxNew === 'object' && maxNew.length !== prompts.length) {
    throw new DecodeOptionError('maxNewTokens', `${maxNew.length} values`, `one per prompt (${prompts.length})`);
  }
  for (const m of maxNewValues) if (!isInt(m) || m < 1) throw new DecodeOptionError('maxNewTokens', m, 'an integer ≥ 1');
  if (o.seed !== undefined && !isSeed(o.seed)) throw new DecodeOptionError('seed', o.seed, 'an integer in [0, 2^32)');
  if (o.seeds !== undefined) {
    if (!Array.isArray(o.seeds) || o.seeds.length !== prompts.length) {
      throw new DecodeOptionError('seeds', `${o.seeds.length} values`, `one integer in [0, 2^32) per prompt (${prompts.length})`);
    }
    const bad = o.seeds.findIndex((seed) => !isSeed(seed));
    if (bad >= 0) throw new DecodeOptionError(`seeds[${bad}]`, o.seeds[bad], 'an integer in [0, 2^32)');
  }
  const g = o.acceptGroups;
  if (g !== undefined) {
    const ok = g.of instanceof Int32Array && g.of.length === V && isInt(g.count) && g.of.every((id) => id >= 0 && id < g.count);
    if (!ok) throw new DecodeOptionError('acceptGroups', 'these groups', `a group id in [0, count) for each of the ${V} tokens`);
  }
  if (!Array.isArray(prompts) || prompts.length === 0) throw new PromptError(0, 'no prompts were given; pass at least one token array');
  const context = model.manifest.context;
  prompts.forEach((prompt, r) => {
    if (!Array.isArray(prompt) || prompt.length === 0) throw new PromptError(r, 'is empty; a prompt needs at least one token');
    if (prompt.length >= context) {
      throw new PromptError(r, `holds ${prompt.length} tokens; the model's context is ${context}, so at most ${context - 1} fit`);
    }
    const bad = prompt.findIndex((t) => !isInt(t) || t < 0 || t >= V);
    if (bad >= 0) throw new PromptError(r, `token ${String(prompt[bad])} at index ${bad} is outside the vocabulary [0, ${V})`);
  });
}

interface Strategies {
  target: Target;
  drafter: Drafter | null;
}

function build(model: LoadedModel, strategy: Strategy, env: StrategyEnv, chains: Chains | undefined): Strategies {
  const g = model.graphs as Record<GraphRole, Graph>;
  switch (strategy) {
    case 'ar':
      return { target: new FullTarget({ ...env, graph: g.full }), drafter: null };
    case 'layer-skip':
      return { target: new FullTarget({ ...env, graph: g.full }), drafter: new LayerSkipDrafter({ ...env, graph: g.layer_skip }) };
    case 'draft':
      return { target: new FullTarget({ ...env, graph: g.full }), drafter: new DraftModelDrafter({ ...env, graph: g.draft, chains: chains?.draft }) };
    case 'eagle': {
      const target = new FullTarget({ ...env, graph: g.full, keepFeatures: true });
      return { target, drafter: new EagleDrafter({ ...env, graph: g.eagle, features: target.features!, chains: chains?.eagle }) };
    }
    case 'medusa': {
      const target = new FullTarget({ ...env, graph: g.full, keepFeatures: true });
      return { target, drafter: new MedusaDrafter({ ...env, graph: g.medusa, features: target.features! }) };
    }
    case 'prophet': {
      const target = new FullTarget({ ...env, graph: g.full, keepFeatures: true });
      const startToken = model.manifest.vocab.special.bos;
      const drafter = new ProphetDrafter({ ...env, graph: g.seed_prophet, features: target.features!, startToken, chains: chains?.seed_prophet });
      return { target, drafter };
    }
    case 'early-exit': {
      const trunk = new Trunk(g.trunk, env.slots, env.capacity);
      const target = new EarlyExitTarget({ ...env, trunk, graph: g.rest, keepFeatures: g.exit_head.hasRecycle });
      return { target, drafter: new EarlyExitDrafter({ ...env, trunk, graph: g.exit_head, features: target.features ?? undefined }) };
    }
  }
}

export async function decode(model: LoadedModel, prompts: readonly (readonly number[])[], options: DecodeOptions = {}): Promise<DecodeResult> {
  checkOptions(model, prompts, options);
  const strategy = options.strategy ?? 'ar';
  const chains = options.chains === false ? undefined : model.chains;
  // Chains get the graph-call log from their set: their sessions are created on first use.
  if (chains && (strategy === 'eagle' || strategy === 'draft')) chains[strategy].onCall = options.onGraphCall ?? null;
  if (chains && strategy === 'prophet') chains.seed_prophet.onCall = options.onGraphCall ?? null;
  const graphs = STRATEGY_GRAPHS[strategy].map((role) => model.graphs[role]!);
  return run({ model, prompts, options, graphs, build: (env) => build(model, strategy, env, chains) });
}

/** Environment a custom drafter is built in. */
export type DrafterEnv = StrategyEnv;

/**
 * Speculative decoding with the `full` target and a drafter of the caller's (benchmarks use an oracle
 * that always matches, to isolate the engine's overhead). `options.strategy` is ignored.
 */
export async function decodeWithDrafter(
  model: LoadedModel,
  prompts: readonly (readonly number[])[],
  options: DecodeOptions,
  makeDrafter: (env: DrafterEnv) => Drafter,
): Promise<DecodeResult> {
  if (options.drafts !== undefined && options.drafts !== 1) {
    throw new DecodeOptionError('drafts', options.drafts, "1: a drafter of the caller's drafts one sequence per row");
  }
  const settled = { ...options, strategy: 'ar' as const };
  checkOptions(model, prompts, settled);
  return run({
    model,
    prompts,
    options: { ...options, gamma: options.gamma ?? 4, strategy: 'draft' },
    graphs: [model.graphs.full!],
    build: (env) => ({ target: new FullTarget({ ...env, graph: model.graphs.full! }), drafter: makeDrafter(env) }),
  });
}

interface RunInput {
  model: LoadedModel;
  prompts: readonly (readonly number[])[];
  options: DecodeOptions;
  /** Graphs whose calls go to `onGraphCall`. */
  graphs: readonly Graph[];
  build: (env: StrategyEnv) => Strategies;
}

async function run(input: RunInput): Promise<DecodeResult> {
  const { model, prompts, options, graphs } = input;
  const started = performance.now();
  const auto = options.gamma === 'auto';
  const tree = options.tree ? new TreeShape(options.tree) : null;
  const gamma = draftLength(model, options);
  const limit: DraftLimit | undefined = auto ? { confidence: options.draftConfidence ?? DEFAULT_DRAFT_CONFIDENCE } : undefined;
  const stopToken = options.stopToken === undefined ? model.manifest.stop_token : options.stopToken;
  const context = model.manifest.context;
  const picker = new TokenPicker({ temperature: options.temperature ?? 0, topK: options.topK, topP: options.topP }, model.vocabSize);
  const signal = options.signal;

  const rows: RowState[] = prompts.map((prompt, r) => {
    const maxNew = options.maxNewTokens === undefined ? 256 : typeof options.maxNewTokens === 'number' ? options.maxNewTokens : options.maxNewTokens[r];
    return {
      id: r,
      seq: [...prompt],
      promptLength: prompt.length,
      maxLength: Math.min(prompt.length + maxNew, context),
      uniform: options.seeds ? seededUniform(options.seeds[r]) : seededUniform(options.seed ?? 0, r),
      steps: 0,
      finishReason: null,
    };
  });
  // Room for the longest row plus one step of drafts past it (drafts beyond the cap are discarded).
  const capacity = Math.max(...rows.map((r) => r.maxLength)) + (tree ? tree.size : gamma + 1);
  const K = options.drafts ?? 1;
  const { target, drafter } = input.build({ slots: rows.length * K, capacity, vocabSize: model.vocabSize });
  const caches = [...target.caches, ...(drafter?.caches ?? [])];
  const stats = new StatsAggregator(gamma);
  const emit = (event: DecodeEvent): void => {
    stats.add(event);
    options.onEvent?.(event);
  };
  for (const graph of graphs) {
    graph.onCall = options.onGraphCall ?? null;
    graph.sampling = !picker.greedy;
  }

  try {
    const table = new SlotTable(rows);
    const abortIfAsked = (): void => {
      if (signal?.aborted) throw new DecodeAbortedError();
    };
    abortIfAsked();
    const t0 = performance.now();
    await target.prefill(table);
    emit({ type: 'prefill', rows: rows.length, ms: performance.now() - t0 });
    const stores = [...(target.stores ?? []), ...(drafter?.stores ?? [])];
    const spectr = K > 1 ? new SpecTrRows({ table, drafts: K, rowCount: rows.length, caches, stores }) : null;
    // The rows the drafter and the target run: one per row, or K per row.
    const runTable = spectr?.table ?? table;

    const V = model.vocabSize;
    let batchStep = 0;
    /** Appends each row's accepted drafts and next token, reports its step, and retires finished rows. */
    const finishStep = (verdict: VerifyOutput, draftedOf: (slot: number) => number[], draftMs: number, verifyMs: number): void => {
      const B = table.size;
      for (let s = B - 1; s >= 0; s--) {
        const row = table.active[s];
        const accepted = verdict.acceptedCounts[s];
        const drafted = draftedOf(s);
        const emitted = appendTokens(row, [...drafted.slice(0, accepted), verdict.nextTokens[s]], stopToken);
        const event: StepEvent = {
          type: 'step',
          row: row.id,
          step: row.steps++,
          drafted,
          accepted,
          token: verdict.nextTokens[s],
          bonus: accepted === drafted.length,
          emitted,
          draftMs,
          verifyMs,
          batchStep,
          batchSize: B,
          ...(row.finishReason ? { finished: row.finishReason } : {}),
        };
        emit(event);
        if (row.finishReason) {
          spectr?.retire(s);
          table.retire(s, spectr ? [] : caches);
        }
      }
      batchStep++;
    };
    const treeRun = tree && drafter instanceof MedusaDrafter && target instanceof FullTarget ? { tree, drafter, target } : null;
    if (tree && !treeRun) throw new RangeError('a tree is drafted by medusa and verified by full');
    while (table.size > 0) {
      abortIfAsked();
      const B = table.size;
      const tDraft = performance.now();
      if (treeRun) {
        const step = await treeStep(table, treeRun.tree, treeRun.drafter, treeRun.target, picker);
        finishStep(step, (s) => step.drafted[s], step.verifyStarted - tDraft, performance.now() - step.verifyStarted);
        continue;
      }
      spectr?.begin();
      const proposal = drafter ? await drafter.propose(runTable, gamma, picker, limit) : { tokens: table.active.map(() => []), q: null };
      const drafts = proposal.tokens;
      const tVerify = performance.now();
      const logits = await target.score(runTable, drafts, gamma);
      const lengths = Int32Array.from(drafts, (d) => d.length);
      let verdict: VerifyOutput;
      const spectrVerdict = spectr?.verify(
        logits,
        proposal,
        gamma,
        picker,
        table.active.map((r) => r.uniform),
      );
      if (spectrVerdict) {
        verdict = spectrVerdict;
      } else if (picker.greedy) {
        const targetTokens = new Int32Array(B * (gamma + 1));
        for (let s = 0; s < B; s++) {
          for (let i = 0; i <= lengths[s]; i++) targetTokens[s * (gamma + 1) + i] = argmax(logits, (s * (gamma + 1) + i) * V, V);
        }
        verdict = verifyGreedy({ rows: B, gamma, targetTokens, draftTokens: draftMatrix(drafts, gamma), lengths, groups: options.acceptGroups });
      } else {
        const p = new Float64Array(B * (gamma + 1) * V);
        for (let s = 0; s < B; s++) {
          for (let i = 0; i <= lengths[s]; i++) picker.distribution(logits, (s * (gamma + 1) + i) * V, p, (s * (gamma + 1) + i) * V);
        }
        verdict = (
          options.acceptGroups
            ? (input: Parameters<typeof verifySampled>[0]) => verifySampledGroups({ ...input, groups: options.acceptGroups! })
            : verifySampled
        )({
          rows: B,
          gamma,
          vocabSize: V,
          p,
          q: proposal.q ?? new Float64Array(0),
          draftTokens: draftMatrix(drafts, gamma),
          lengths,
          uniforms: table.active.map((r) => r.uniform),
        });
      }
      const tDone = performance.now();
      if (spectr && spectrVerdict) {
        spectr.commit(spectrVerdict, drafts, [target, drafter]);
      } else {
        target.commit(table, verdict.acceptedCounts);
        drafter?.commit(table, verdict.acceptedCounts);
      }

      // With K drafts: the one the row continues from, whose first `accepted` tokens were accepted.
      const draftedOf = (s: number): number[] => (spectrVerdict ? drafts[s * K + spectrVerdict.acceptedDraft[s]] : drafts[s]) as number[];
      finishStep(verdict, draftedOf, tVerify - tDraft, tDone - tVerify);
    }
  } finally {
    for (const graph of graphs) {
      graph.onCall = null;
      graph.sampling = false;
    }
  }
  const ms = performance.now() - started;
  const summary = stats.summary();
  return {
    rows: rows.map((r) => ({ tokens: r.seq.slice(r.promptLength, r.finishReason === 'stop' ? -1 : undefined), finishReason: r.finishReason! })),
    summary,
    ms,
    tokensPerSecond: summary.tokens / (ms / 1000),
  };
}

function draftMatrix(drafts: Drafts, gamma: number): Int32Array {
  const m = new Int32Array(drafts.length * gamma);
  drafts.forEach((row, s) => m.set(row, s * gamma));
  return m;
}

/** Appends tokens until the stop token or the length cap; returns how many were appended. */
function appendTokens(row: RowState, tokens: number[], stopToken: number | null): number {
  let n = 0;
  for (const token of tokens) {
    row.seq.push(token);
    n++;
    if (token === stopToken) {
      row.finishReason = 'stop';
      break;
    }
    if (row.seq.length >= row.maxLength) {
      row.finishReason = 'length';
      break;
    }
  }
  return n;
}
