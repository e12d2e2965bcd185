/**
 * Adaptive gamma's threshold, measured on this machine for this voice: the calibrated strategy at its
 * fixed gamma against `gamma: 'auto'` at a few confidence thresholds and draft caps, decoded greedy,
 * batch 1, on the calibration prompts, with the calibrated thread split. Rounds interleave the
 * configurations (the first is a warm-up), and each is scored by its units/s summed over the measured
 * rounds. The cost model does not predict adaptive runs (their draft length varies with the text), so
 * this is timed rather than predicted.
 */
import { decode, gammaLimit, type DecodeOptions } from '../engine/decode.ts';
import type { LoadedModel } from '../engine/model.ts';
import type { Prediction } from './cost-model.ts';
import type { Progress, Prompts } from './measure.ts';

/** The thresholds and the caps above the fixed gamma that are timed. */
export const ADAPTIVE_CONFIDENCES = [0.2, 0.35, 0.5] as const;
export const ADAPTIVE_EXTRA_GAMMA = [1, 2] as const;
/** Adaptive gamma becomes the default only when it measured at least this much faster than the fixed gamma. */
export const ADAPTIVE_MARGIN = 1.03;

export interface AdaptiveChoice {
  strategy: Prediction['strategy'];
  draftConfidence: number;
  maxGamma: number;
  /** The adaptive configuration's units/s over the fixed gamma's, in the same rounds. */
  speedupOverFixed: number;
  /** True when it beat the fixed gamma by ADAPTIVE_MARGIN: synthesis then defaults to it. */
  chosen: boolean;
}

export interface AdaptiveOptions {
  /** Sentences decoded per configuration and round (the first of the prompts). Default 6. */
  sentences?: number;
  /** Measured rounds after the warm-up. Default 2. */
  rounds?: number;
  signal?: AbortSignal;
  onProgress?: Progress;
}

/**
 * Times `best` (a drafting strategy at a fixed gamma) against adaptive gamma; undefined for ar, and for
 * medusa at its heads (no cap above its gamma to try).
 */
export async function measureAdaptive(
  model: LoadedModel,
  input: Prompts,
  best: Prediction,
  options: AdaptiveOptions = {},
): Promise<AdaptiveChoice | undefined> {
  if (best.strategy === 'ar') return undefined;
  const n = Math.min(options.sentences ?? 6, input.prompts.length);
  const rounds = options.rounds ?? 2;
  const configs: DecodeOptions[] = [{ strategy: best.strategy, gamma: best.gamma }];
  for (const extra of ADAPTIVE_EXTRA_GAMMA) {
    if (best.gamma + extra > gammaLimit(model, best.strategy)) continue;
    for (const draftConfidence of ADAPTIVE_CONFIDENCES) {
      configs.push({ strategy: best.strategy, gamma: 'auto', maxGamma: best.gamma + extra, draftConfidence });
    }
  }
  if (configs.length === 1) return undefined;
  const tokens = new Array<number>(configs.length).fill(0);
  const ms = new Array<number>(configs.length).fill(0);
  for (let round = 0; round <= rounds; round++) {
    for (let k = 0; k < configs.length; k++) {
      const c = (k + round) % configs.length;
      options.onProgress?.((round * configs.length + k) / ((rounds + 1) * configs.length), 'adaptive gamma');
      for (let i = 0; i < n; i++) {
        const r = await decode(model, [input.prompts[i]], { ...configs[c], maxNewTokens: input.maxNewTokens[i], signal: options.signal });
        if (round === 0) continue;
        tokens[c] += r.summary.tokens;
        ms[c] += r.ms;
      }
    }
  }
  const rate = (c: number): number => tokens[c] / ms[c];
  let top = 1;
  for (let c = 2; c < configs.length; c++) if (rate(c) > rate(top)) top = c;
  const speedupOverFixed = rate(top) / rate(0);
  return {
    strategy: best.strategy,
    draftConfidence: configs[top].draftConfidence!,
    maxGamma: configs[top].maxGamma!,
    speedupOverFixed,
    chosen: speedupOverFixed >= ADAPTIVE_MARGIN,
  };
}
