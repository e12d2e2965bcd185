/**
 * The text front end: document → sentences (with spans) → normalised text → phoneme ids.
 * Pure functions; no Electron, no I/O besides the bundled dictionary.
 */

export { normalizeText, spokenWords, spellAddress, type NormalizeOptions } from './normalize.ts';
export { splitSentences, type Sentence, type SplitOptions } from './sentences.ts';
export { prepareDocument, type PreparedSentence, type PrepareOptions } from './prepare.ts';
export {
  PHONEME_INVENTORY,
  WORD_BOUNDARY,
  PAUSE_COMMA,
  PAUSE_PERIOD,
  PAUSE_QUESTION,
  PAUSE_EXCLAMATION,
  phonemize,
  phonemeIds,
  tokensToIds,
  idsToTokens,
  wordPhonemes,
  type PhonemizeOptions,
} from './phonemes.ts';
export { letterToSound } from './letter-to-sound.ts';
export { getLexicon, lookupWord, isDictionaryWord } from './lexicon.ts';
export {
  compileLexicon,
  makeEntry,
  parsePronunciation,
  entryPhonemes,
  lexiconKey,
  LexiconEntryError,
  LEXICON_LIMITS,
  type LexiconEntry,
  type UserLexicon,
} from './user-lexicon.ts';
