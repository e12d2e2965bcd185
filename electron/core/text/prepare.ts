/**
 * Document → synthesis units: sentences with their spans in the original text, their normalised
 * text and their phoneme ids, each within a phoneme budget (the decoder's prompt length).
 */

import { normalizeText, type NormalizeOptions } from './normalize.ts';
import { phonemeIds } from './phonemes.ts';
import { splitSentences, type Sentence, type SplitOptions } from './sentences.ts';
import type { UserLexicon } from './user-lexicon.ts';

export interface PreparedSentence extends Sentence {
  /** normalizeText(text): what is spoken. Empty when nothing in the span has a reading (emoji only). */
  readonly normalized: string;
  /** Ids relative to PHONEME_INVENTORY; empty when `normalized` is. */
  readonly phonemeIds: number[];
}

export interface PrepareOptions {
  readonly split?: SplitOptions;
  readonly normalize?: NormalizeOptions;
  /**
   * A sentence with more phonemes than this is split again with a proportionally smaller word cap.
   * Default 200 (the corpus averages ~5 tokens a word, so a 30-word sentence is ~150). A single token can
   * still exceed it (a 40-digit number read digit by digit); it is kept whole.
   */
  readonly maxPhonemes?: number;
  /**
   * The user's pronunciations (user-lexicon.ts compileLexicon): a listed word is kept whole by the
   * normaliser and said as listed. Default none: the dictionary and letter-to-sound alone.
   */
  readonly lexicon?: UserLexicon;
}

function prepareOne(sentence: Sentence, options: PrepareOptions): PreparedSentence {
  const normalized = normalizeText(sentence.text, { ...options.normalize, lexicon: options.lexicon });
  return { ...sentence, normalized, phonemeIds: phonemeIds(normalized, { normalized: true, lexicon: options.lexicon }) };
}

/** Split, normalise and phonemise a document; every sentence's span indexes `document`. */
export function prepareDocument(document: string, options: PrepareOptions = {}): PreparedSentence[] {
  const maxPhonemes = options.maxPhonemes ?? 200;
  const maxWords = options.split?.maxWords ?? 30;
  const out: PreparedSentence[] = [];
  const visit = (sentence: Sentence, wordCap: number): void => {
    const prepared = prepareOne(sentence, options);
    const words = sentence.text.split(/\s+/).length;
    if (prepared.phonemeIds.length <= maxPhonemes || words <= 1 || wordCap <= 1) {
      out.push(prepared);
      return;
    }
    const smallerCap = Math.max(1, Math.min(wordCap - 1, Math.floor((wordCap * maxPhonemes) / prepared.phonemeIds.length)));
    const pieces = splitSentences(sentence.text, { ...options.split, maxWords: smallerCap });
    for (const piece of pieces) {
      const start = sentence.start + piece.start;
      visit({ text: piece.text, start, end: start + piece.text.length }, smallerCap);
    }
  };
  for (const sentence of splitSentences(document, options.split)) visit(sentence, maxWords);
  return out;
}
