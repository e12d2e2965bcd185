/**
 * The vocoder's per-frame features, as the speaking network writes them and
 * native-models/spear_voice/speaker/features.py `vocoder_features` extracts them: for each 10 ms frame,
 * `nMels` log mel-band powers, then log f0 (Hz, interpolated through unvoiced frames), then voicing
 * (1 voiced, 0 unvoiced; a network's probability is thresholded at 0.5).
 */
export interface VocoderFrames {
  /** (frameCount, nMels + 2) row-major. */
  data: Float32Array;
  frameCount: number;
  nMels: number;
}

export const frameWidth = (nMels: number): number => nMels + 2;

export function checkFrames(f: VocoderFrames): void {
  if (f.data.length !== f.frameCount * frameWidth(f.nMels)) {
    throw new RangeError(`vocoder frames: ${f.data.length} values is not ${f.frameCount} × (${f.nMels} + 2)`);
  }
}
