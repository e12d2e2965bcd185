/**
 * Speaking rate and pitch on the vocoder's frames, before any sample exists: the frame sequence is
 * resampled in time (rate) and log f0 is shifted (pitch). Because the source–filter vocoder draws its
 * pulses from f0 and its spectrum from the envelope, a faster rate keeps the pitch and the formants,
 * and a pitch shift keeps the formants (no "chipmunk" voice) — what WSOLA or a phase vocoder on the
 * samples only approximates, with phasiness, at a far higher cost.
 */
import { checkFrames, frameWidth, type VocoderFrames } from './features.ts';

export interface StretchOptions {
  /** Speaking rate: 2 speaks twice as fast (half the frames), 0.5 half as fast. Default 1. */
  rate?: number;
  /** Pitch shift in semitones (+12: an octave up). Default 0. */
  pitchSemitones?: number;
}

/** Frames a sequence of `frameCount` frames becomes at `rate` (at least 1 for a non-empty input). */
export function stretchedLength(frameCount: number, rate: number): number {
  return frameCount === 0 ? 0 : Math.max(1, Math.round(frameCount / rate));
}

/**
 * T frames → round(T / rate) frames. Output frame j samples the input at time j · rate (frame units)
 * by linear interpolation of the log-mel powers and log f0; voicing is the nearer frame's, so voiced
 * and unvoiced stretches keep sharp edges.
 */
export function stretchFrames(frames: VocoderFrames, options: StretchOptions = {}): VocoderFrames {
  checkFrames(frames);
  const rate = options.rate ?? 1;
  const shift = ((options.pitchSemitones ?? 0) / 12) * Math.LN2;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`);
  if (rate === 1 && shift === 0) return frames;
  const { frameCount: T, nMels, data } = frames;
  const D = frameWidth(nMels);
  const outCount = stretchedLength(T, rate);
  const out = new Float32Array(outCount * D);
  for (let j = 0; j < outCount; j++) {
    // Centre-aligned: the first and last output frames sample the first and last input frames' regions.
    const u = Math.min(T - 1, Math.max(0, (j + 0.5) * rate - 0.5));
    const t0 = Math.floor(u);
    const t1 = Math.min(T - 1, t0 + 1);
    const a = u - t0;
    const row = j * D;
    for (let k = 0; k < nMels + 1; k++) out[row + k] = (1 - a) * data[t0 * D + k] + a * data[t1 * D + k];
    out[row + nMels] += shift;
    out[row + nMels + 1] = data[(a < 0.5 ? t0 : t1) * D + nMels + 1];
  }
  return { data: out, frameCount: outCount, nMels };
}
