/**
 * Calibration end to end: the voice's acceptance per depth (cached per voice), this machine's graph
 * costs at each thread count, the cost model's choice, and the file that keeps it (store.ts). The CLI
 * (`spear calibrate`) and the studio's service run this same function.
 */
import { STRATEGIES, STRATEGY_GRAPHS } from '../engine/decode.ts';
import { measureAdaptive, type AdaptiveChoice } from './adaptive.ts';
import { loadModel, type LoadedModel } from '../engine/model.ts';
import { SpearError } from '../errors.ts';
import { choose, CostTable, predictAll, type AcceptanceProfile, type ChoiceOptions, type GraphCost } from './cost-model.ts';
import { currentMachine, voiceIdentity, type MachineInfo } from './machine.ts';
import { calibrationPrompts, costPlan, draftingStrategiesOf, measureAcceptance, measureCosts, threadCandidates, type Progress, type Split } from './measure.ts';
import { CALIBRATION_FORMAT, readAcceptance, readCalibration, writeAcceptance, writeCalibration, type Calibration, type StoredCalibration } from './store.ts';

/** The measurements gave no configuration the cost model can predict (a voice with no `full` graph cost). */
export class CalibrationError extends SpearError {}

export interface CalibrateOptions {
  /** The voice (or bare decoder) directory. */
  dir: string;
  /** Where the calibration and the acceptance cache are read and written; null: neither. */
  configDir: string | null;
  /**
   * A decoder already open on `dir` for the acceptance run (the studio's voice); default: one is loaded
   * for it and released after.
   */
  decoder?: LoadedModel;
  /** Decode the bench texts again even when the voice's acceptance is cached. Default false. */
  remeasureAcceptance?: boolean;
  /** Largest gamma considered (and the gamma of the acceptance run). Default 8. */
  maxGamma?: number;
  /** Measured rounds of graph timings (after a warm-up round). Default 5. */
  rounds?: number;
  /** Time adaptive gamma against the chosen fixed gamma (measureAdaptive). Default true. */
  adaptive?: boolean;
  /** Default: this machine. */
  machine?: MachineInfo;
  signal?: AbortSignal;
  onProgress?: Progress;
}

export interface CalibrationRun {
  calibration: Calibration;
  /** Where it was written; null without a config directory. */
  file: string | null;
  /** The acceptance came from the voice's cache rather than a decode of the bench texts. */
  acceptanceCached: boolean;
  /** "bench texts", "fixed prompts", or "cache". */
  acceptanceSource: string;
}

export async function calibrate(options: CalibrateOptions): Promise<CalibrationRun> {
  const started = performance.now();
  const machine = options.machine ?? currentMachine();
  const voice = await voiceIdentity(options.dir);
  const maxGamma = options.maxGamma ?? 8;
  const progress = options.onProgress ?? (() => undefined);

  let acceptance: AcceptanceProfile | undefined;
  if (options.configDir && !options.remeasureAcceptance) {
    acceptance = await readAcceptance(options.configDir, voice);
    if (acceptance && acceptance.maxGamma < maxGamma) acceptance = undefined;
  }
  let own = options.decoder ? null : await loadModel(options.dir, { threads: 1, targetThreads: Math.min(2, machine.cores) });
  const decoder = options.decoder ?? own!;
  // A cached profile that lacks one of the voice's drafters (measured where it was not calibrated) is measured again.
  if (acceptance && draftingStrategiesOf(decoder).some((s) => !acceptance!.drafters[s])) acceptance = undefined;
  const acceptanceCached = acceptance !== undefined;
  // The acceptance run's share of the progress bar: it takes most of a first calibration's time.
  const share = acceptanceCached ? 0 : 0.6;
  let acceptanceSource = 'cache';
  try {
    if (!acceptance) {
      const prompts = await calibrationPrompts(decoder);
      acceptanceSource = prompts.source;
      acceptance = await measureAcceptance(decoder, prompts, { maxGamma, signal: options.signal, onProgress: (f, label) => progress(f * share, label) });
      if (options.configDir) await writeAcceptance(options.configDir, voice, acceptance);
    }
    const strategies = draftingStrategiesOf(decoder).filter((s) => acceptance!.drafters[s]);
    const candidates = threadCandidates(machine.cores);
    const plan = costPlan(acceptance, {
      ...candidates,
      strategies,
      chainGammas: { eagle: decoder.chains.eagle.gammas, draft: decoder.chains.draft.gammas, seed_prophet: decoder.chains.seed_prophet.gammas },
    });
    // Our own decoder is released before the timed models load: two copies' sessions need not coexist.
    await own?.release();
    own = null;
    const choiceOptions = {
      strategies: STRATEGIES.filter((s) => s === 'ar' || strategies.includes(s)),
      gammas: Array.from({ length: maxGamma }, (_, i) => i + 1),
      ...candidates,
    };
    // The rest of the bar: graph costs, then (a seventh of it) adaptive gamma.
    const adaptiveShare = options.adaptive === false ? 0 : (1 - share) / 7;
    const costs = await measureCosts(options.dir, plan, {
      position: acceptance.meanPosition,
      rounds: options.rounds,
      signal: options.signal,
      onProgress: (f, label) => progress(share + f * (1 - share - adaptiveShare), label),
      keepSplit: (first) => keepContenders(first, acceptance!, choiceOptions),
    });
    const choice = choose(new CostTable(costs), acceptance, choiceOptions);
    if (!choice) throw new CalibrationError(`${options.dir}: no configuration could be timed (the target graph "full" ran in none of the thread counts)`);
    let adaptive: AdaptiveChoice | undefined;
    if (options.adaptive !== false && choice.best.strategy !== 'ar') {
      const timed = await loadModel(options.dir, {
        threads: choice.best.threads,
        targetThreads: choice.best.targetThreads,
        roles: [...STRATEGY_GRAPHS[choice.best.strategy]],
      });
      try {
        adaptive = await measureAdaptive(timed, await calibrationPrompts(timed), choice.best, {
          signal: options.signal,
          onProgress: (f, label) => progress(1 - adaptiveShare + f * adaptiveShare, label),
        });
      } finally {
        await timed.release();
      }
    }
    const calibration: Calibration = {
      format: CALIBRATION_FORMAT,
      machine,
      voice,
      measuredAt: new Date().toISOString(),
      seconds: (performance.now() - started) / 1000,
      acceptance,
      costs,
      best: choice.best,
      byStrategy: choice.byStrategy,
      ...(adaptive ? { adaptive } : {}),
    };
    const file = options.configDir ? await writeCalibration(options.configDir, calibration) : null;
    progress(1, 'done');
    return { calibration, file, acceptanceCached, acceptanceSource };
  } finally {
    await own?.release();
  }
}

/** This machine's calibration of the voice in `dir`, or why there is none (missing, stale, corrupt). */
export async function loadCalibration(dir: string, configDirectory: string, machine: MachineInfo = currentMachine()): Promise<StoredCalibration> {
  return readCalibration(configDirectory, machine, await voiceIdentity(dir));
}

/**
 * After one round, the splits worth timing further: those whose fastest configuration comes within
 * 25 % of the fastest overall. On a busy machine a split with two threads per graph can run ten times
 * slower than with one (a thread pool waiting for a core another process holds); timing it five more
 * times would not change the choice and would double the calibration's time.
 */
export function keepContenders(costs: readonly GraphCost[], acceptance: AcceptanceProfile, options: ChoiceOptions): (split: Split) => boolean {
  const all = predictAll(new CostTable(costs), acceptance, options);
  const top = Math.max(0, ...all.map((p) => p.tokensPerSecond));
  return (split) => all.some((p) => p.threads === split.threads && p.targetThreads === split.targetThreads && p.tokensPerSecond >= 0.75 * top);
}
