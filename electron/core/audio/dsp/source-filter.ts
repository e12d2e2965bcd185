/**
 * Source–filter vocoder: a pulse train at f0 (voiced) mixed with Gaussian noise, shaped frame by frame
 * in the STFT domain by the spectral envelope that the log-mel bands describe, then weighted
 * overlap-add. The HTS teacher voice is itself a source–filter (MLSA) vocoder, which is why this
 * reproduces it closely (oracle WER in docs/voice-audio.md).
 *
 * Levels: the excitation has unit power per sample, so its windowed power spectrum averages Σw²;
 * scaling bin k by √(D_k / Σw²), where D_k is the target's windowed power density, gives the output
 * the target's band powers.
 */
import { Fft } from './fft.ts';
import { checkFrames, frameWidth, type VocoderFrames } from './features.ts';
import { bandToBin, densityFromLogMel } from './mel.ts';
import { gaussianNoise } from './noise.ts';
import { DEFAULT_GEOMETRY, hann, loadFrame, OverlapAdd, type FrameGeometry } from './stft.ts';

export interface SourceFilterOptions {
  /** Frame geometry; default 16 kHz, hop 160, Hann 400, FFT 512. */
  geometry?: FrameGeometry;
  /** Noise share of the voiced excitation's power below `aperiodicStartHz`; default 0.02. */
  aperiodicFloor?: number;
  /** Frequency where voiced excitation starts turning to noise; default 4000 Hz. */
  aperiodicStartHz?: number;
  /** Noise share at the Nyquist frequency in voiced frames; default 0.5. */
  aperiodicTop?: number;
  /** Noise seed; default 1. */
  seed?: number;
}

/** T frames → T·hop samples. */
export function sourceFilter(frames: VocoderFrames, options: SourceFilterOptions = {}): Float32Array {
  checkFrames(frames);
  const g = options.geometry ?? DEFAULT_GEOMETRY;
  const apFloor = options.aperiodicFloor ?? 0.02;
  const apStart = options.aperiodicStartHz ?? 4000;
  const apTop = options.aperiodicTop ?? 0.5;
  const { frameCount: T, nMels, data } = frames;
  const D = frameWidth(nMels);
  const N = T * g.hop;

  // Excitation: per-sample f0 by linear interpolation of log f0 between frame centres; one pulse of
  // amplitude √(fs/f0) (unit power) each period while voiced.
  const pulses = new Float64Array(N);
  let phase = 0;
  for (let n = 0; n < N; n++) {
    const u = (n - g.hop / 2) / g.hop;
    const t0 = Math.min(T - 1, Math.max(0, Math.floor(u)));
    const t1 = Math.min(T - 1, t0 + 1);
    const a = Math.min(1, Math.max(0, u - t0));
    const f0 = Math.exp((1 - a) * data[t0 * D + nMels] + a * data[t1 * D + nMels]);
    phase += f0 / g.sampleRate;
    if (phase >= 1) {
      phase -= 1;
      const t = Math.min(T - 1, Math.floor(n / g.hop));
      if (data[t * D + nMels + 1] >= 0.5) pulses[n] = Math.sqrt(g.sampleRate / f0);
    }
  }
  const noise = gaussianNoise(N, options.seed ?? 1);

  const nBins = g.nFft / 2 + 1;
  const voicedPulse = new Float64Array(nBins);
  const voicedNoise = new Float64Array(nBins);
  for (let k = 0; k < nBins; k++) {
    const f = (k * g.sampleRate) / g.nFft;
    const ap = f <= apStart ? apFloor : apFloor + ((apTop - apFloor) * (f - apStart)) / (g.sampleRate / 2 - apStart);
    voicedPulse[k] = Math.sqrt(1 - ap);
    voicedNoise[k] = Math.sqrt(ap);
  }

  const fft = new Fft(g.nFft);
  const window = hann(g.win);
  let windowPower = 0;
  for (const w of window) windowPower += w * w;
  const map = bandToBin(nMels, g);
  const density = new Float64Array(nBins);
  const re = new Float64Array(g.nFft);
  const im = new Float64Array(g.nFft);
  const ola = new OverlapAdd(T, g);
  const pulseFrame = new Float64Array(g.nFft);
  const noiseFrame = new Float64Array(g.nFft);
  for (let t = 0; t < T; t++) {
    const row = data.subarray(t * D, t * D + nMels);
    densityFromLogMel(row, map, density);
    const voiced = data[t * D + nMels + 1] >= 0.5;
    // One complex transform carries both real excitations: z = pulses + i·noise.
    loadFrame(pulses, t, g, window, pulseFrame, im);
    loadFrame(noise, t, g, window, noiseFrame, im);
    re.set(pulseFrame);
    im.set(noiseFrame);
    fft.forward(re, im);
    // P_k = (Z_k + conj Z_{N-k}) / 2, Q_k = (Z_k − conj Z_{N-k}) / 2i; Y_k = G_k (α_k P_k + β_k Q_k).
    let targetEnergy = 0;
    let energy = 0;
    for (let k = 0; k < nBins; k++) {
      const kk = (g.nFft - k) % g.nFft;
      const zr = re[k];
      const zi = im[k];
      const cr = re[kk];
      const ci = -im[kk];
      const pr = (zr + cr) / 2;
      const pi = (zi + ci) / 2;
      const qr = (zi - ci) / 2;
      const qi = -(zr - cr) / 2;
      const gain = Math.sqrt(density[k] / windowPower);
      const alpha = voiced ? voicedPulse[k] * gain : 0;
      const beta = voiced ? voicedNoise[k] * gain : gain;
      const yr = alpha * pr + beta * qr;
      const yi = alpha * pi + beta * qi;
      re[k] = yr;
      im[k] = yi;
      if (kk !== k) {
        re[kk] = yr;
        im[kk] = -yi;
      }
      targetEnergy += density[k];
      energy += yr * yr + yi * yi;
    }
    // Pulses sample the envelope only at harmonics, and a window holds few of them: match the frame's
    // energy to the envelope's exactly (E|Y_k|² = D_k), which the expectation above only gives on average.
    const scale = energy > 1e-20 ? Math.sqrt(targetEnergy / energy) : 0;
    for (let i = 0; i < g.nFft; i++) {
      re[i] *= scale;
      im[i] *= scale;
    }
    fft.inverse(re, im);
    ola.add(t, re);
  }
  return ola.finish();
}
