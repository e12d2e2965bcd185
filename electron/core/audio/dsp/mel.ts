/**
 * HTK mel scale and the band layout of native-models/spear_voice/speaker/features.py `mel_filterbank` (the twin:
 * change both together). The vocoders only need each band's centre and its filter's total weight to
 * turn band powers back into a smooth per-bin power density.
 */
import { Fft } from './fft.ts';
import { hann, loadFrame, type FrameGeometry } from './stft.ts';

/** Power floor before the log (features.py LOG_FLOOR). */
export const LOG_FLOOR = 1e-10;

export const hzToMel = (f: number): number => 2595 * Math.log10(1 + f / 700);
export const melToHz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

/** (nMels, nFft/2+1) unit-peak triangles, row-major; identical to features.py `mel_filterbank`. */
export function melFilterbank(nMels: number, g: FrameGeometry, fMin = 0, fMax = g.sampleRate / 2): Float64Array[] {
  const mMin = hzToMel(fMin);
  const mMax = hzToMel(fMax);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1)));
  const nBins = g.nFft / 2 + 1;
  const bank: Float64Array[] = [];
  for (let b = 0; b < nMels; b++) {
    const [lo, mid, hi] = [edges[b], edges[b + 1], edges[b + 2]];
    const row = new Float64Array(nBins);
    let sum = 0;
    for (let k = 0; k < nBins; k++) {
      const f = (k * g.sampleRate) / g.nFft;
      row[k] = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      sum += row[k];
    }
    if (sum === 0) row[Math.round((mid * g.nFft) / g.sampleRate)] = 1;
    bank.push(row);
  }
  return bank;
}

/**
 * Linear interpolation, on the mel axis, from band values at the band centres to every FFT bin
 * (flat beyond the first and last centre). Precomputed once: bin k takes
 * `(1 - frac[k]) · band[lower[k]] + frac[k] · band[lower[k] + 1]`.
 */
export interface BandToBin {
  lower: Int32Array;
  frac: Float64Array;
  /** log Σ_k M_bk per band: log-mel minus this is the log power density at the band centre. */
  logWeight: Float64Array;
}

export function bandToBin(nMels: number, g: FrameGeometry): BandToBin {
  const bank = melFilterbank(nMels, g);
  const mMax = hzToMel(g.sampleRate / 2);
  const step = mMax / (nMels + 1);
  const nBins = g.nFft / 2 + 1;
  const lower = new Int32Array(nBins);
  const frac = new Float64Array(nBins);
  for (let k = 0; k < nBins; k++) {
    const u = hzToMel((k * g.sampleRate) / g.nFft) / step - 1; // band index coordinate: centre b at u = b
    if (u <= 0) {
      lower[k] = 0;
      frac[k] = 0;
    } else if (u >= nMels - 1) {
      lower[k] = nMels - 2;
      frac[k] = 1;
    } else {
      lower[k] = Math.floor(u);
      frac[k] = u - lower[k];
    }
  }
  const logWeight = Float64Array.from(bank, (row) => Math.log(row.reduce((s, v) => s + v, 0)));
  return { lower, frac, logWeight };
}

/** Per-bin power density from one frame of log-mel band powers. */
export function densityFromLogMel(logMel: ArrayLike<number>, map: BandToBin, out: Float64Array): void {
  for (let k = 0; k < out.length; k++) {
    const b = map.lower[k];
    const f = map.frac[k];
    const lo = logMel[b] - map.logWeight[b];
    const hi = logMel[b + 1] - map.logWeight[b + 1];
    out[k] = Math.exp((1 - f) * lo + f * hi);
  }
}

/**
 * (frameCount, nMels) natural-log mel-band powers of a signal, frame t centred on t·hop + hop/2: the
 * analysis of features.py `log_mel` (used by tests and tools; the app's frames come from the network).
 */
export function logMel(signal: Float32Array, nMels: number, g: FrameGeometry): Float32Array {
  const frameCount = Math.floor(signal.length / g.hop);
  const bank = melFilterbank(nMels, g);
  const fft = new Fft(g.nFft);
  const window = hann(g.win);
  const re = new Float64Array(g.nFft);
  const im = new Float64Array(g.nFft);
  const out = new Float32Array(frameCount * nMels);
  for (let t = 0; t < frameCount; t++) {
    loadFrame(signal, t, g, window, re, im);
    fft.forward(re, im);
    for (let b = 0; b < nMels; b++) {
      let power = 0;
      const row = bank[b];
      for (let k = 0; k < row.length; k++) if (row[k] > 0) power += row[k] * (re[k] * re[k] + im[k] * im[k]);
      out[t * nMels + b] = Math.log(Math.max(power, LOG_FLOOR));
    }
  }
  return out;
}
