/**
 * The frame geometry shared with the Python features (native-models/spear_voice/speaker/features.py): frame t is
 * centred on sample t·hop + hop/2, analysed with a periodic Hann window of `win` samples centred in an
 * `nFft`-point transform. A vocoder that writes `hop` samples per frame turns T frames into exactly
 * T·hop samples.
 */

export interface FrameGeometry {
  /** Samples per second. */
  sampleRate: number;
  /** Samples between frame centres (160 = 10 ms at 16 kHz). */
  hop: number;
  /** Analysis window length in samples (400 = 25 ms). */
  win: number;
  /** Transform size, a power of two ≥ win (512). */
  nFft: number;
}

export const DEFAULT_GEOMETRY: FrameGeometry = { sampleRate: 16000, hop: 160, win: 400, nFft: 512 };

/** Periodic Hann window (the same formula as features.py `hann`). */
export function hann(length: number): Float64Array {
  const w = new Float64Array(length);
  for (let i = 0; i < length; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / length);
  return w;
}

/** Index of the first signal sample in frame t's transform buffer (the window sits in its middle). */
export function frameStart(t: number, g: FrameGeometry): number {
  return t * g.hop + (g.hop >> 1) - (g.nFft >> 1);
}

/** Offset of the window inside the transform buffer. */
export function windowOffset(g: FrameGeometry): number {
  return (g.nFft - g.win) >> 1;
}

/**
 * Weighted overlap-add: accumulates `window · frame` for each frame and divides by Σ window², so an
 * unmodified analysis-synthesis round trip returns the input exactly where any window covers it.
 */
export class OverlapAdd {
  readonly output: Float64Array;
  private readonly norm: Float64Array;
  private readonly window: Float64Array;

  constructor(
    readonly frameCount: number,
    readonly geometry: FrameGeometry,
  ) {
    this.output = new Float64Array(frameCount * geometry.hop);
    this.norm = new Float64Array(frameCount * geometry.hop);
    this.window = hann(geometry.win);
  }

  /** Adds frame t, given as the real part of its transform buffer (nFft samples). */
  add(t: number, buffer: Float64Array): void {
    const g = this.geometry;
    const start = frameStart(t, g) + windowOffset(g);
    for (let j = 0; j < g.win; j++) {
      const n = start + j;
      if (n < 0 || n >= this.output.length) continue;
      const w = this.window[j];
      this.output[n] += w * buffer[windowOffset(g) + j];
      this.norm[n] += w * w;
    }
  }

  /** The normalised signal as float32. */
  finish(): Float32Array {
    const out = new Float32Array(this.output.length);
    for (let n = 0; n < out.length; n++) out[n] = this.norm[n] > 1e-6 ? this.output[n] / this.norm[n] : 0;
    return out;
  }
}

/** Copies frame t of `signal` into `re` (windowed, zeros outside the signal) and clears `im`. */
export function loadFrame(signal: ArrayLike<number>, t: number, g: FrameGeometry, window: Float64Array, re: Float64Array, im: Float64Array): void {
  re.fill(0);
  im.fill(0);
  const off = windowOffset(g);
  const start = frameStart(t, g) + off;
  for (let j = 0; j < g.win; j++) {
    const n = start + j;
    if (n >= 0 && n < signal.length) re[off + j] = window[j] * signal[n];
  }
}
