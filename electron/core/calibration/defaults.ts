/**
 * What a calibration means for one synthesis: the strategy, gamma and threads to use where the user
 * named none, and the one line that says so.
 */
import type { Strategy } from '../engine/decode.ts';
import type { AdaptiveChoice } from './adaptive.ts';
import type { Prediction } from './cost-model.ts';
import { currentMachine, describeMachine, voiceIdentity } from './machine.ts';
import { readCalibration, type Calibration } from './store.ts';

export interface Requested {
  strategy?: Strategy;
  gamma?: number | 'auto';
  threads?: number;
  targetThreads?: number;
}

export interface Calibrated {
  strategy: Strategy;
  /** Undefined for ar (it drafts nothing); 'auto' where the user asked for adaptive gamma or the calibration chose it. */
  gamma?: number | 'auto';
  /** With gamma 'auto' from the calibration: its threshold and draft cap. */
  draftConfidence?: number;
  maxGamma?: number;
  /** Undefined where the user named a thread count: then the user's counts apply, as without a calibration. */
  threads?: number;
  targetThreads?: number;
  /** The calibrated configuration these come from. */
  from: Prediction;
}

/**
 * The user's choices first, the calibration's for the rest: with no strategy named, the fastest
 * configuration; with a strategy named, that strategy's fastest gamma and threads (a strategy the
 * calibration did not time gets nothing from it). A named thread count keeps both counts the user's.
 */
export function calibratedDefaults(calibration: Pick<Calibration, 'best' | 'byStrategy' | 'adaptive'>, requested: Requested): Calibrated | undefined {
  const from = requested.strategy ? calibration.byStrategy[requested.strategy] : calibration.best;
  if (!from) return undefined;
  const userThreads = requested.threads !== undefined || requested.targetThreads !== undefined;
  // Adaptive gamma where it was timed faster for this strategy and the user named no gamma (or 'auto').
  const adaptive = calibration.adaptive;
  const useAdaptive = adaptive?.strategy === from.strategy && ((adaptive.chosen && requested.gamma === undefined) || requested.gamma === 'auto');
  if (useAdaptive) {
    return {
      strategy: from.strategy,
      gamma: 'auto',
      draftConfidence: adaptive.draftConfidence,
      maxGamma: adaptive.maxGamma,
      threads: userThreads ? requested.threads : from.threads,
      targetThreads: userThreads ? requested.targetThreads : from.targetThreads,
      from,
    };
  }
  return {
    strategy: from.strategy,
    gamma: requested.gamma ?? (from.strategy === 'ar' ? undefined : from.gamma),
    threads: userThreads ? requested.threads : from.threads,
    targetThreads: userThreads ? requested.targetThreads : from.targetThreads,
    from,
  };
}

/** "eagle γ 4, 1+2 threads" (or "eagle γ auto ≤5 at 0.35, …"): strategy, gamma, and drafting + verifying threads. */
export function describeChoice(
  p: Pick<Prediction, 'strategy' | 'gamma' | 'threads' | 'targetThreads'>,
  adaptive?: Pick<AdaptiveChoice, 'maxGamma' | 'draftConfidence'>,
): string {
  if (p.strategy === 'ar') return `ar, ${p.targetThreads} thread${p.targetThreads === 1 ? '' : 's'}`;
  const gamma = adaptive ? `auto ≤${adaptive.maxGamma} at ${adaptive.draftConfidence}` : `${p.gamma}`;
  return `${p.strategy} γ ${gamma}, ${p.threads}+${p.targetThreads} threads`;
}

/** "calibrated: eagle γ 4, 1+2 threads (AMD EPYC, 2 cores)". */
export function calibrationLine(
  calibration: Pick<Calibration, 'best' | 'machine' | 'adaptive'>,
  chosen: Pick<Prediction, 'strategy' | 'gamma' | 'threads' | 'targetThreads'> = calibration.best,
): string {
  const a = calibration.adaptive;
  const adaptive = a?.chosen && a.strategy === chosen.strategy ? a : undefined;
  return `calibrated: ${describeChoice(chosen, adaptive)} (${describeMachine(calibration.machine)})`;
}

export interface DefaultsLookup {
  /** The calibration's contribution, undefined where it gives none (none stored, or the user chose everything). */
  calibrated?: Calibrated;
  /** One line for the user: what the calibration chose, or why none is used. Undefined when there is nothing to say. */
  line?: string;
}

/**
 * The calibrated defaults for a run on the voice in `voiceDir`, and the one line that says what they
 * are. Where the calibration is missing, stale or corrupt, the line says so and nothing is calibrated:
 * the run keeps the voice's defaults (a calibration is never made here; it would delay the run).
 */
export async function lookUpDefaults(voiceDir: string, configDirectory: string, requested: Requested): Promise<DefaultsLookup> {
  const userChoseAll =
    requested.strategy !== undefined &&
    (requested.strategy === 'ar' || requested.gamma !== undefined) &&
    (requested.threads !== undefined || requested.targetThreads !== undefined);
  if (userChoseAll) return {};
  const stored = await readCalibration(configDirectory, currentMachine(), await voiceIdentity(voiceDir));
  if (stored.status === 'missing') return { line: "not calibrated for this machine yet: the voice's defaults apply (run 'spear calibrate' once, ~35 s)" };
  if (stored.status !== 'valid') return { line: `${stored.notice}; the voice's defaults apply until 'spear calibrate' runs` };
  const calibrated = calibratedDefaults(stored.calibration, requested);
  if (!calibrated) return {};
  return { calibrated, line: calibrationLine(stored.calibration, calibrated.from) };
}
