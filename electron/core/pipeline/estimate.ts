/**
 * How long a text will sound, before anything is decoded: words × seconds per word (scaled by the
 * speaking rate) plus the pauses between sentences and paragraphs. Cheap (regular expressions over
 * the text, no phonemes), so it runs on a whole book before the user commits to a long job.
 */

/**
 * The estimate's constants. secondsPerWord is measured on the shipped voice: the 24 bench sentences
 * (electron/core/eval/bench-texts.txt, one paragraph each: 292 words) give 110.76 s of audio at rate 1,
 * of which 23 × 0.6 s are paragraph pauses: (110.76 − 13.8) / 292 = 0.332 s a word
 * (`spear synth --file bench.txt -o bench.wav --stats-out s.json`). The pauses are the pipeline's
 * defaults (synthesize.ts PAUSE_SECONDS). electron/ipc-contract.ts restates these for the studio.
 */
export const SPEECH_ESTIMATE = { secondsPerWord: 0.332, sentencePauseSeconds: 0.3, paragraphPauseSeconds: 0.6 } as const;

export interface SpeechEstimate {
  /** Whitespace-separated words. */
  words: number;
  /** Sentence ends (. ! ? …) followed by a space or the end, at least 1 for a non-empty text. */
  sentences: number;
  /** Blank-line breaks between paragraphs. */
  paragraphBreaks: number;
  /** Estimated seconds of audio. */
  seconds: number;
}

export interface EstimateOptions {
  /** Speaking rate; 2 halves the speech (not the pauses). Default 1. */
  rate?: number;
  /** Pause after a sentence, seconds. Default SPEECH_ESTIMATE.sentencePauseSeconds. */
  sentencePauseSeconds?: number;
  /** Pause after a paragraph, seconds. Default SPEECH_ESTIMATE.paragraphPauseSeconds. */
  paragraphPauseSeconds?: number;
}

export function estimateSpeech(text: string, options: EstimateOptions = {}): SpeechEstimate {
  const rate = options.rate ?? 1;
  const sentencePause = options.sentencePauseSeconds ?? SPEECH_ESTIMATE.sentencePauseSeconds;
  const paragraphPause = options.paragraphPauseSeconds ?? SPEECH_ESTIMATE.paragraphPauseSeconds;
  const words = text.match(/\S+/g)?.length ?? 0;
  if (words === 0) return { words: 0, sentences: 0, paragraphBreaks: 0, seconds: 0 };
  const paragraphBreaks = text.trim().match(/\n[^\S\n]*\n\s*/g)?.length ?? 0;
  const sentences = Math.max(1, text.match(/[.!?\u2026]+["')\]\u2019\u201D]*(?=\s|$)/g)?.length ?? 0, paragraphBreaks + 1);
  // Pauses come between sentences: one fewer than the sentences, of which paragraphBreaks are longer.
  const pauses = (sentences - 1 - paragraphBreaks) * sentencePause + paragraphBreaks * paragraphPause;
  return { words, sentences, paragraphBreaks, seconds: (words * SPEECH_ESTIMATE.secondsPerWord) / rate + Math.max(0, pauses) };
}
