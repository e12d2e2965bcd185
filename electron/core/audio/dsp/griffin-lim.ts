/**
 * Griffin–Lim phase reconstruction (fast variant with momentum, Perraudin et al. 2013) from the
 * magnitude that the log-mel bands describe. Kept as the comparison baseline of the source–filter
 * vocoder (docs/voice-audio.md: oracle WER of both).
 */
import { Fft } from './fft.ts';
import { checkFrames, frameWidth, type VocoderFrames } from './features.ts';
import { bandToBin, densityFromLogMel } from './mel.ts';
import { DEFAULT_GEOMETRY, hann, loadFrame, OverlapAdd, type FrameGeometry } from './stft.ts';

export interface GriffinLimOptions {
  geometry?: FrameGeometry;
  /** Iterations; default 32. */
  iterations?: number;
  /** Momentum of the fast variant; default 0.99 (0 = classic Griffin–Lim). */
  momentum?: number;
}

export function griffinLim(frames: VocoderFrames, options: GriffinLimOptions = {}): Float32Array {
  checkFrames(frames);
  const g = options.geometry ?? DEFAULT_GEOMETRY;
  const iterations = options.iterations ?? 32;
  const momentum = options.momentum ?? 0.99;
  const { frameCount: T, nMels, data } = frames;
  const D = frameWidth(nMels);
  const nBins = g.nFft / 2 + 1;
  const map = bandToBin(nMels, g);
  const magnitude = new Float64Array(T * nBins);
  const density = new Float64Array(nBins);
  for (let t = 0; t < T; t++) {
    densityFromLogMel(data.subarray(t * D, t * D + nMels), map, density);
    for (let k = 0; k < nBins; k++) magnitude[t * nBins + k] = Math.sqrt(density[k]);
  }
  const fft = new Fft(g.nFft);
  const window = hann(g.win);
  const re = new Float64Array(g.nFft);
  const im = new Float64Array(g.nFft);
  // Current complex spectra (after projection) and the previous projection, for momentum.
  const specRe = new Float64Array(T * nBins);
  const specIm = new Float64Array(T * nBins);
  const prevRe = new Float64Array(T * nBins);
  const prevIm = new Float64Array(T * nBins);
  // Deterministic pseudo-random initial phase: zero phase converges to a buzzy fixed point.
  let seed = 12345;
  for (let i = 0; i < T * nBins; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const a = (2 * Math.PI * seed) / 4294967296;
    specRe[i] = magnitude[i] * Math.cos(a);
    specIm[i] = magnitude[i] * Math.sin(a);
  }
  const synthesize = (): Float32Array => {
    const ola = new OverlapAdd(T, g);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < nBins; k++) {
        re[k] = specRe[t * nBins + k];
        im[k] = specIm[t * nBins + k];
        if (k > 0 && k < g.nFft / 2) {
          re[g.nFft - k] = re[k];
          im[g.nFft - k] = -im[k];
        }
      }
      fft.inverse(re, im);
      ola.add(t, re);
    }
    return ola.finish();
  };
  for (let it = 0; it < iterations; it++) {
    const signal = synthesize();
    for (let t = 0; t < T; t++) {
      loadFrame(signal, t, g, window, re, im);
      fft.forward(re, im);
      for (let k = 0; k < nBins; k++) {
        const i = t * nBins + k;
        const mag = Math.hypot(re[k], im[k]);
        const m = magnitude[i];
        // projection onto the target magnitude, then the fast-GL extrapolation
        const pr = mag > 1e-12 ? (re[k] * m) / mag : m;
        const pi = mag > 1e-12 ? (im[k] * m) / mag : 0;
        specRe[i] = pr + momentum * (pr - prevRe[i]);
        specIm[i] = pi + momentum * (pi - prevIm[i]);
        prevRe[i] = pr;
        prevIm[i] = pi;
      }
    }
  }
  return synthesize();
}
