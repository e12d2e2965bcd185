/**
 * Temperature, top-k and top-p written the slow, obvious way, independently of
 * electron/core/engine/sampling.ts, for the tests that check it and the tests that need an exact law.
 *
 *   temperature  softmax(logits / T);
 *   top-k        keep the k tokens of largest logit (among equal logits the lower id first), renormalise;
 *   top-p        of those, keep each token whose kept tokens ranked before it hold less than topP of the
 *                (renormalised) mass: the smallest prefix that reaches topP; renormalise.
 *
 * The order of Hugging Face's logits warpers (temperature, then top-k, then top-p on what top-k kept).
 */

export interface ReferenceSampling {
  /** > 0. */
  temperature: number;
  /** Undefined (or ≥ V) keeps every token. */
  topK?: number;
  /** Undefined (or 1) keeps every token. */
  topP?: number;
}

export function referenceDistribution(logits: ArrayLike<number>, options: ReferenceSampling): Float64Array {
  const V = logits.length;
  const l = Array.from(logits);
  // Token j ranks before token i: a larger logit, or the same logit and a lower id.
  const before = (j: number, i: number): boolean => l[j] > l[i] || (l[j] === l[i] && j < i);
  const rank = l.map((_, i) => l.filter((_, j) => before(j, i)).length);

  const scaled = l.map((x) => x / options.temperature);
  const top = Math.max(...scaled);
  let p = scaled.map((x) => Math.exp(x - top));
  p = normalise(p);

  const k = options.topK ?? V;
  p = normalise(p.map((pi, i) => (rank[i] < k ? pi : 0)));

  const topP = options.topP ?? 1;
  if (topP < 1) {
    const massBefore = p.map((_, i) => p.reduce((sum, pj, j) => (before(j, i) ? sum + pj : sum), 0));
    p = normalise(p.map((pi, i) => (pi > 0 && massBefore[i] < topP ? pi : 0)));
  }
  return Float64Array.from(p);
}

function normalise(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** The lowest id among the largest logits. */
export function referenceArgmax(logits: ArrayLike<number>): number {
  const l = Array.from(logits);
  return l.indexOf(Math.max(...l));
}
