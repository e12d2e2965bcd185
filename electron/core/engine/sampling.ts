/**
 * Turning logits into the distribution a token is drawn from: temperature, then top-k, then top-p
 * (the order of Hugging Face's logits warpers). The speculative verifier compares exactly these
 * processed distributions: p for the target, q for the drafter (Leviathan et al. 2022, section 2.3).
 */
import type { Uniform } from './random.ts';

export interface SamplingOptions {
  /** 0 means greedy (argmax); otherwise logits are divided by it. Default 1. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 or undefined keeps all. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose mass reaches topP; 1 or undefined keeps all. */
  topP?: number;
}

/** Index of the largest of `logits[offset … offset+size)`; the lowest index wins a tie. */
export function argmax(logits: ArrayLike<number>, offset: number, size: number): number {
  let best = 0;
  let bestValue = logits[offset];
  for (let i = 1; i < size; i++) {
    const v = logits[offset + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * The largest probability of softmax(logits[offset … offset+size)) at temperature 1: 1 / Σ exp(l − max),
 * in float64. A drafter's confidence in its argmax (adaptive gamma).
 */
export function maxProbability(logits: ArrayLike<number>, offset: number, size: number): number {
  let max = logits[offset];
  for (let i = 1; i < size; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.exp(logits[offset + i] - max);
  return 1 / sum;
}

/** One position's logits and where its processed distribution goes. */
export interface ProcessLogitsInput {
  logits: ArrayLike<number>;
  /** Index of the position's first logit. Default 0. */
  offset?: number;
  /** Vocabulary size: the logits are `logits[offset … offset+size)`. */
  size: number;
  /** The distribution is written to `out[outOffset … outOffset+size)`. */
  out: Float64Array;
  /** Default 0. */
  outOffset?: number;
  /** Scratch of at least `size` indices, reused across calls; default a new one per call that needs it. */
  order?: Int32Array;
}

/**
 * Writes the normalised distribution of one position's logits after temperature, top-k and top-p.
 * `options.temperature` must be > 0 (decode refuses anything else but 0, which means argmax).
 */
export function processLogits(input: ProcessLogitsInput, options: SamplingOptions): void {
  const { logits, size, out } = input;
  const offset = input.offset ?? 0;
  const outOffset = input.outOffset ?? 0;
  const invT = 1 / options.temperature;
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const e = Math.exp((logits[offset + i] - max) * invT);
    out[outOffset + i] = e;
    sum += e;
  }
  for (let i = 0; i < size; i++) out[outOffset + i] /= sum;

  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const keepK = topK > 0 && topK < size;
  if (!keepK && topP >= 1) return;

  // Sort indices by probability, highest first; ties broken by the lower index so results are stable.
  const order = input.order ?? new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  const view = order.subarray(0, size);
  view.sort((a, b) => out[outOffset + b] - out[outOffset + a] || a - b);
  let keep = keepK ? topK : size;
  if (topP < 1) {
    // Mass of the kept top-k set, renormalised, must reach topP; always keep at least one token.
    let keptMass = 0;
    for (let r = 0; r < keep; r++) keptMass += out[outOffset + view[r]];
    let cumulative = 0;
    for (let r = 0; r < keep; r++) {
      cumulative += out[outOffset + view[r]] / keptMass;
      if (cumulative >= topP) {
        keep = r + 1;
        break;
      }
    }
  }
  let keptSum = 0;
  for (let r = 0; r < keep; r++) keptSum += out[outOffset + view[r]];
  for (let r = keep; r < size; r++) out[outOffset + view[r]] = 0;
  for (let r = 0; r < keep; r++) out[outOffset + view[r]] /= keptSum;
}

/** Draws an index from the distribution `probs[offset … offset+size)` (inverse CDF). */
export function sampleIndex(probs: ArrayLike<number>, offset: number, size: number, uniform: Uniform): number {
  const u = uniform();
  let cumulative = 0;
  let lastPositive = -1;
  for (let i = 0; i < size; i++) {
    const pi = probs[offset + i];
    if (pi <= 0) continue;
    cumulative += pi;
    lastPositive = i;
    if (u < cumulative) return i;
  }
  // Rounding left the total a hair below u: the last token with mass is the right answer.
  return lastPositive;
}
