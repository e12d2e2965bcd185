/**
 * Text → phoneme tokens → ids relative to PHONEME_INVENTORY.
 *
 * Token kinds (all in PHONEME_INVENTORY):
 *   - ARPAbet phones with the stress digit kept on vowels, one token each ("AH0", "AH1", "AH2" are
 *     three tokens); consonants carry no digit. Stress is part of the vowel token rather than a
 *     separate token so a sequence stays one token per phone (shorter prompts for the decoder).
 *   - WORD_BOUNDARY "_" between two words with no pause mark between them;
 *   - pause tokens in place of the boundary: "<,>" (comma, semicolon, colon, dash, bracket),
 *     "<.>" (sentence end), "<?>" (question), "<!>" (exclamation). A run of marks keeps the strongest
 *     (? and ! over . over ,); marks before the first word are dropped; nothing is added at the end.
 *
 * Words come from the user's lexicon when one is given (user-lexicon.ts), then the dictionary
 * (lexicon.ts), then a possessive rule ("kafka's"), then the letter-to-sound model
 * (letter-to-sound.ts), so every word has a pronunciation.
 */

import { lookupWord } from './lexicon.ts';
import { letterToSound } from './letter-to-sound.ts';
import { normalizeText, type NormalizeOptions } from './normalize.ts';
import type { UserLexicon } from './user-lexicon.ts';

export const WORD_BOUNDARY = '_';
export const PAUSE_COMMA = '<,>';
export const PAUSE_PERIOD = '<.>';
export const PAUSE_QUESTION = '<?>';
export const PAUSE_EXCLAMATION = '<!>';

export const CONSONANTS = [
  'B',
  'CH',
  'D',
  'DH',
  'F',
  'G',
  'HH',
  'JH',
  'K',
  'L',
  'M',
  'N',
  'NG',
  'P',
  'R',
  'S',
  'SH',
  'T',
  'TH',
  'V',
  'W',
  'Y',
  'Z',
  'ZH',
] as const;
export const VOWELS = ['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW'] as const;

/**
 * The model's phoneme vocabulary, in a fixed order: its index is the id relative to the vocabulary's
 * phoneme offset (docs/model-contract.md). 74 entries. NEVER reorder or insert: append only, or every
 * trained model's embeddings point at the wrong phones. tests/core/text/phonemes.test.ts pins it.
 */
export const PHONEME_INVENTORY: readonly string[] = Object.freeze([
  WORD_BOUNDARY,
  PAUSE_COMMA,
  PAUSE_PERIOD,
  PAUSE_QUESTION,
  PAUSE_EXCLAMATION,
  ...CONSONANTS,
  ...VOWELS.flatMap((v) => [`${v}0`, `${v}1`, `${v}2`]),
]);

const PHONEME_INDEX: ReadonlyMap<string, number> = new Map(PHONEME_INVENTORY.map((p, i) => [p, i]));

// Maps, not object literals: a word like "constructor" must not find Object.prototype's members.
const PAUSE_OF: ReadonlyMap<string, string> = new Map([
  [',', PAUSE_COMMA],
  ['.', PAUSE_PERIOD],
  ['?', PAUSE_QUESTION],
  ['!', PAUSE_EXCLAMATION],
]);
const PAUSE_STRENGTH: Record<string, number> = { [PAUSE_COMMA]: 1, [PAUSE_PERIOD]: 2, [PAUSE_QUESTION]: 3, [PAUSE_EXCLAMATION]: 3 };

/** Letter names, for a single capital letter ("U S B"). */
export const LETTER_NAMES: Readonly<Record<string, readonly string[]>> = {
  A: ['EY1'],
  B: ['B', 'IY1'],
  C: ['S', 'IY1'],
  D: ['D', 'IY1'],
  E: ['IY1'],
  F: ['EH1', 'F'],
  G: ['JH', 'IY1'],
  H: ['EY1', 'CH'],
  I: ['AY1'],
  J: ['JH', 'EY1'],
  K: ['K', 'EY1'],
  L: ['EH1', 'L'],
  M: ['EH1', 'M'],
  N: ['EH1', 'N'],
  O: ['OW1'],
  P: ['P', 'IY1'],
  Q: ['K', 'Y', 'UW1'],
  R: ['AA1', 'R'],
  S: ['EH1', 'S'],
  T: ['T', 'IY1'],
  U: ['Y', 'UW1'],
  V: ['V', 'IY1'],
  W: ['D', 'AH1', 'B', 'AH0', 'L', 'Y', 'UW0'],
  X: ['EH1', 'K', 'S'],
  Y: ['W', 'AY1'],
  Z: ['Z', 'IY1'],
};

export interface PhonemizeOptions {
  /** The text is already normalised (normalizeText's output); skip normalisation. Default false. */
  readonly normalized?: boolean;
  /** Passed to normalizeText. */
  readonly normalize?: NormalizeOptions;
  /** The user's pronunciations; they win over the dictionary and letter-to-sound. Default none. */
  readonly lexicon?: UserLexicon;
}

const VOICELESS_FINAL = new Set(['P', 'T', 'K', 'F', 'TH']);
const SIBILANT_FINAL = new Set(['S', 'Z', 'SH', 'ZH', 'CH', 'JH']);

/** "-'s" after a stem: IH0 Z after a sibilant, S after a voiceless consonant, else Z. */
function possessive(stem: readonly string[]): string[] {
  const last = stem[stem.length - 1];
  if (SIBILANT_FINAL.has(last)) return [...stem, 'IH0', 'Z'];
  if (VOICELESS_FINAL.has(last)) return [...stem, 'S'];
  return [...stem, 'Z'];
}

/**
 * One word's phones. The user's lexicon comes first, for any word; then a lone capital letter is read
 * as its name ("B" → B IY1), except "A" standing alone among ordinary words, which is the article.
 */
export function wordPhonemes(word: string, options: { spelledLetter?: boolean; lexicon?: UserLexicon } = {}): string[] {
  // NOTE: the normaliser has already stripped accents, so lower case is the lexicon's key here.
  const mine = (w: string): readonly string[] | undefined => options.lexicon?.get(w.toLowerCase());
  const own = mine(word);
  if (own) return [...own];
  if (/^[A-Z]$/.test(word) && (word !== 'A' || options.spelledLetter)) return [...LETTER_NAMES[word]];
  const known = lookupWord(word);
  if (known) return [...known];
  const stripped = word.replace(/^'+|'+$/g, '');
  if (stripped === '') return [];
  if (stripped !== word) return wordPhonemes(stripped, options);
  const possessiveMatch = /^(.+)'s$/i.exec(word);
  if (possessiveMatch) {
    const stem = mine(possessiveMatch[1]) ?? lookupWord(possessiveMatch[1]) ?? letterToSound(possessiveMatch[1]);
    return possessive(stem);
  }
  return letterToSound(word);
}

/** Text → phoneme tokens (see the file comment). Empty or unreadable text → []. */
export function phonemize(text: string, options: PhonemizeOptions = {}): string[] {
  const normalized = options.normalized ? text : normalizeText(text, { ...options.normalize, lexicon: options.lexicon });
  const parts = normalized.match(/[A-Za-z']+|[,.?!]/g) ?? [];
  const tokens: string[] = [];
  let pendingPause: string | undefined;
  let wordCount = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const pause = PAUSE_OF.get(part);
    if (pause) {
      if (wordCount > 0 && (!pendingPause || PAUSE_STRENGTH[pause] > PAUSE_STRENGTH[pendingPause])) pendingPause = pause;
      continue;
    }
    // "A" is a letter name when a neighbouring word is also a single capital letter ("A B C").
    const spelledLetter = part === 'A' && [parts[i - 1], parts[i + 1]].some((w) => w !== undefined && /^[A-Z]$/.test(w));
    const phones = wordPhonemes(part, { spelledLetter, lexicon: options.lexicon });
    if (phones.length === 0) continue;
    if (wordCount > 0) tokens.push(pendingPause ?? WORD_BOUNDARY);
    pendingPause = undefined;
    tokens.push(...phones);
    wordCount++;
  }
  if (pendingPause) tokens.push(pendingPause);
  return tokens;
}

/** Phoneme tokens → ids relative to PHONEME_INVENTORY; throws on a token outside it (a programming error). */
export function tokensToIds(tokens: readonly string[]): number[] {
  return tokens.map((token) => {
    const id = PHONEME_INDEX.get(token);
    if (id === undefined) throw new Error(`phonemes: token "${token}" is not in PHONEME_INVENTORY`);
    return id;
  });
}

/** Text → phoneme ids relative to PHONEME_INVENTORY (add the vocabulary's phoneme offset for the model). */
export function phonemeIds(text: string, options: PhonemizeOptions = {}): number[] {
  return tokensToIds(phonemize(text, options));
}

/** Ids → tokens, for display and debugging. */
export function idsToTokens(ids: readonly number[]): string[] {
  return ids.map((id) => PHONEME_INVENTORY[id] ?? `<unk:${id}>`);
}
