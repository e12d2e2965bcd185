/**
 * Estimates the studio shows before and after a job: how long a text will sound (the same rule as
 * electron/core/pipeline/estimate.ts, with the contract's constants) and how large its audio will be
 * in each export format. Estimates are labelled as such wherever they are shown.
 */
import type { AudioFormat, EXPORT_ESTIMATE, SPEECH_ESTIMATE } from '../../../electron/ipc-contract.ts';

/** The contract's values (its types are the literal numbers, so these cannot differ from them). */
export const SPEECH: typeof SPEECH_ESTIMATE = { secondsPerWord: 0.332, sentencePauseSeconds: 0.3, paragraphPauseSeconds: 0.6 };
export const EXPORT: typeof EXPORT_ESTIMATE = { flacRatio: 0.45, mp3Kbps: 48, opusKbps: 24, wavMaxDataBytes: 4_294_967_259 };

export const FORMAT_LABELS: Record<AudioFormat, string> = {
  wav: 'WAV (16-bit PCM)',
  flac: 'FLAC (lossless)',
  opus: 'Ogg Opus (24 kbit/s)',
  mp3: 'MP3 (48 kbit/s)',
};

export interface Pauses {
  /** Speaking rate; default 1. */
  rate?: number;
  sentencePauseSeconds?: number;
  paragraphPauseSeconds?: number;
}

/** Estimated seconds of audio for `text` (0 for no words). */
export function estimateSeconds(text: string, options: Pauses = {}): number {
  const words = text.match(/\S+/g)?.length ?? 0;
  if (words === 0) return 0;
  const paragraphBreaks = text.trim().match(/\n[^\S\n]*\n\s*/g)?.length ?? 0;
  const sentences = Math.max(1, text.match(/[.!?\u2026]+["')\]\u2019\u201D]*(?=\s|$)/g)?.length ?? 0, paragraphBreaks + 1);
  const sentencePause = options.sentencePauseSeconds ?? SPEECH.sentencePauseSeconds;
  const paragraphPause = options.paragraphPauseSeconds ?? SPEECH.paragraphPauseSeconds;
  const pauses = (sentences - 1 - paragraphBreaks) * sentencePause + paragraphBreaks * paragraphPause;
  return (words * SPEECH.secondsPerWord) / (options.rate ?? 1) + Math.max(0, pauses);
}

/** Estimated bytes of `seconds` of mono 16-bit audio at `sampleRate` written as `format`. */
export function estimateBytes(format: AudioFormat, seconds: number, sampleRate: number): number {
  const pcm = seconds * sampleRate * 2;
  switch (format) {
    case 'wav':
      return 44 + pcm;
    case 'flac':
      return 8192 + pcm * EXPORT.flacRatio;
    case 'mp3':
      return (seconds * EXPORT.mp3Kbps * 1000) / 8;
    case 'opus':
      return 200 + ((seconds * EXPORT.opusKbps * 1000) / 8) * 1.007;
  }
}

/** Why `seconds` of audio cannot be exported as `format`, or null when it can. */
export function exportProblem(format: AudioFormat, seconds: number, sampleRate: number): string | null {
  if (format !== 'wav' || seconds * sampleRate * 2 <= EXPORT.wavMaxDataBytes) return null;
  return 'A WAV file holds at most 4 GiB (about 37 hours); choose FLAC, Ogg Opus or MP3.';
}
