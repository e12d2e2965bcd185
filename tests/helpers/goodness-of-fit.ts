/** Goodness-of-fit helpers for the losslessness tests. */

/** Pearson's chi-square statistic of observed counts against expected probabilities (cells with p = 0 must be empty). */
export function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): { statistic: number; df: number; zeroCellHits: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  let statistic = 0;
  let df = -1;
  let zeroCellHits = 0;
  for (let i = 0; i < counts.length; i++) {
    const expected = probs[i] * total;
    if (expected <= 0) {
      zeroCellHits += counts[i];
      continue;
    }
    statistic += (counts[i] - expected) ** 2 / expected;
    df++;
  }
  return { statistic, df, zeroCellHits };
}

/**
 * Upper critical value of chi-square with df degrees of freedom at significance alpha, by the
 * Wilson–Hilferty cube-root approximation (accurate to ~1% for df ≥ 3). z for alpha = 1e-3 is 3.0902.
 */
export function chiSquareCritical(df: number, z = 3.0902): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Total variation distance between empirical counts and a distribution. */
export function totalVariation(counts: ArrayLike<number>, probs: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  let tv = 0;
  for (let i = 0; i < counts.length; i++) tv += Math.abs(counts[i] / total - probs[i]);
  return tv / 2;
}

/**
 * Chi-square of counts against probabilities with the cells whose expected count is below 5 pooled into
 * one; `impossible` counts draws in cells of probability 0.
 */
export function pooledChiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): { statistic: number; df: number; impossible: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  let statistic = 0;
  let cells = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  let impossible = 0;
  for (let i = 0; i < counts.length; i++) {
    const expected = probs[i] * total;
    if (probs[i] === 0) {
      impossible += counts[i];
    } else if (expected < 5) {
      pooledObserved += counts[i];
      pooledExpected += expected;
    } else {
      statistic += (counts[i] - expected) ** 2 / expected;
      cells++;
    }
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    cells++;
  }
  return { statistic, df: cells - 1, impossible };
}
