/** Tests' look at a signal's spectrum: a direct DFT over a few thousand samples, small and exact enough. */

/**
 * Share of the power of `n` samples of `x` from `from` (at `rate` Hz) in the bins whose frequency `inBand`
 * accepts; bin 0 (DC) is left out of both sums.
 */
export function bandShare(x: ArrayLike<number>, rate: number, inBand: (hz: number) => boolean, from = 0, n = x.length - from): number {
  let total = 0;
  let band = 0;
  for (let k = 1; k < n / 2; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      re += x[from + t] * Math.cos(a);
      im += x[from + t] * Math.sin(a);
    }
    const p = re * re + im * im;
    total += p;
    if (inBand((k * rate) / n)) band += p;
  }
  return band / total;
}
