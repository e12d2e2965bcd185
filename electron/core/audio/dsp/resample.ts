/**
 * Sample-rate conversion by a rational factor: each output sample is the input filtered by a
 * Blackman-windowed sinc low-pass, evaluated at its own position (one precomputed filter per phase).
 * Used where a 16 kHz consumer (pocketsphinx) hears a speaker of another rate; not on the playback path.
 */

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export interface ResampleOptions {
  /** Half-length of the filter in input samples; default 48 (transition ≈ 1.5 kHz at 24 kHz). */
  halfTaps?: number;
  /** Pass band edge as a share of the lower rate's Nyquist frequency; default 0.9. */
  passBand?: number;
}

/** `samples` at `from` Hz → the same signal at `to` Hz, `round(n · to / from)` samples. */
export function resample(samples: Float32Array, from: number, to: number, options: ResampleOptions = {}): Float32Array {
  if (!(Number.isInteger(from) && from > 0 && Number.isInteger(to) && to > 0))
    throw new RangeError(`resample: rates must be positive integers, got ${from} → ${to}`);
  if (from === to) return samples;
  const g = gcd(from, to);
  const up = to / g;
  const down = from / g;
  const K = options.halfTaps ?? 48;
  // Cut-off in cycles per input sample, below the lower rate's Nyquist frequency.
  const cutoff = ((options.passBand ?? 0.9) * Math.min(from, to)) / 2 / from;
  const kernel = (d: number): number => {
    if (Math.abs(d) >= K) return 0;
    const x = 2 * cutoff * d;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / K) + 0.08 * Math.cos((2 * Math.PI * d) / K);
    return 2 * cutoff * sinc * w;
  };
  // Phase p (output time k0 + p/up in input samples) reads x[k0 − K + 1 … k0 + K].
  const filters = Array.from({ length: up }, (_, p) => {
    const h = Float64Array.from({ length: 2 * K }, (_, i) => kernel(p / up + K - 1 - i));
    const sum = h.reduce((s, v) => s + v, 0);
    return h.map((v) => v / sum); // unit gain at DC in every phase
  });
  const out = new Float32Array(Math.round((samples.length * to) / from));
  for (let j = 0; j < out.length; j++) {
    const position = j * down;
    const k0 = Math.floor(position / up);
    const h = filters[position - k0 * up];
    const first = k0 - K + 1;
    let acc = 0;
    for (let i = Math.max(0, -first), end = Math.min(2 * K, samples.length - first); i < end; i++) acc += samples[first + i] * h[i];
    out[j] = acc;
  }
  return out;
}
