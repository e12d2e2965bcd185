/**
 * The user's own pronunciations: a word → ARPAbet phonemes ("Siobhan" → SH IH0 V AO1 N) or a
 * respelling in ordinary letters ("Nguyen" → "win"). Text preparation takes the compiled lexicon as
 * an option (PrepareOptions.lexicon); an entry wins over the dictionary and letter-to-sound, in any
 * case and with accents ignored, as the normaliser strips them ("Nguyễn" is "nguyen").
 *
 * Pure: entries in, a Map out. The file that keeps them is lexicon-file.ts.
 */
import { SpearError } from '../errors.ts';
import { normalizeText } from './normalize.ts';
import { CONSONANTS, phonemize, VOWELS, WORD_BOUNDARY } from './phonemes.ts';

/** Lower-case word (accents stripped) → its ARPAbet phones. What text preparation takes. */
export type UserLexicon = ReadonlyMap<string, readonly string[]>;

/** One entry as the user gave it: exactly one of `phonemes` and `respelling`. */
export interface LexiconEntry {
  /** The word as written ("Nguyen"); it matches in any case. */
  readonly word: string;
  /** ARPAbet phones, a stress digit 0, 1 or 2 on each vowel (["W", "IH1", "N"]). */
  readonly phonemes?: readonly string[];
  /** Ordinary letters read with the voice's own rules ("win"). */
  readonly respelling?: string;
}

/** A word or pronunciation the lexicon cannot hold; the message says what to write instead. */
export class LexiconEntryError extends SpearError {}

export const LEXICON_LIMITS = {
  /** Letters of a word. */
  wordChars: 64,
  /** Characters of a respelling or of a phoneme string. */
  pronunciationChars: 200,
  /** Phones of one word. */
  phones: 40,
  /** Entries of one lexicon. */
  entries: 10_000,
} as const;

const CONSONANT_SET: ReadonlySet<string> = new Set(CONSONANTS);
const VOWEL_SET: ReadonlySet<string> = new Set(VOWELS);

/** Accents off (as the normaliser does), lower case: how a word is matched. */
export function lexiconKey(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The word, trimmed, if the lexicon can hold it: letters, with apostrophes inside ("O'Neill"). */
export function checkWord(word: string): string {
  const trimmed = word.trim();
  if (trimmed === '') throw new LexiconEntryError('lexicon: the word is empty');
  if (trimmed.length > LEXICON_LIMITS.wordChars)
    throw new LexiconEntryError(`lexicon: "${trimmed.slice(0, 20)}…" is longer than ${LEXICON_LIMITS.wordChars} letters`);
  if (!/^[a-z]+(?:'[a-z]+)*$/.test(lexiconKey(trimmed))) {
    throw new LexiconEntryError(
      `lexicon: "${trimmed}" is not one word; an entry is Latin letters (accents allowed) with apostrophes inside, no spaces, digits or hyphens`,
    );
  }
  return trimmed;
}

/** Upper-cased, checked phones; a vowel without its stress digit, or a symbol outside ARPAbet, is refused. */
export function checkPhonemes(word: string, phones: readonly string[]): string[] {
  if (phones.length === 0) throw new LexiconEntryError(`lexicon: "${word}": no phonemes given`);
  if (phones.length > LEXICON_LIMITS.phones)
    throw new LexiconEntryError(`lexicon: "${word}": ${phones.length} phonemes; a word may have at most ${LEXICON_LIMITS.phones}`);
  return phones.map((raw) => {
    const phone = raw.toUpperCase();
    if (CONSONANT_SET.has(phone)) return phone;
    const vowel = /^([A-Z]{2})([012])$/.exec(phone);
    if (vowel && VOWEL_SET.has(vowel[1])) return phone;
    if (VOWEL_SET.has(phone))
      throw new LexiconEntryError(
        `lexicon: "${word}": the vowel ${phone} needs a stress digit: ${phone}1 (stressed), ${phone}2 (secondary) or ${phone}0 (unstressed)`,
      );
    throw new LexiconEntryError(
      `lexicon: "${word}": "${raw}" is not an ARPAbet phoneme; consonants are ${CONSONANTS.join(' ')}; vowels are ${VOWELS.join(' ')}, each with a stress digit 0, 1 or 2`,
    );
  });
}

/**
 * A respelling's phones, read with the dictionary and letter-to-sound (never with the user's own
 * entries, so no entry depends on another): its words are said as one, with no boundary between them.
 */
export function respellingPhonemes(word: string, respelling: string): string[] {
  const text = respelling.trim();
  if (text === '') throw new LexiconEntryError(`lexicon: "${word}": the respelling is empty`);
  if (text.length > LEXICON_LIMITS.pronunciationChars)
    throw new LexiconEntryError(`lexicon: "${word}": the respelling is longer than ${LEXICON_LIMITS.pronunciationChars} characters`);
  if (!/^[a-z' -]+$/i.test(text.normalize('NFD').replace(/\p{M}/gu, ''))) {
    throw new LexiconEntryError(
      `lexicon: "${word}": the respelling "${text}" must be written in Latin letters (spaces, hyphens and apostrophes allowed), like "win" for Nguyen`,
    );
  }
  const phones = phonemize(normalizeText(text)).filter((p) => p !== WORD_BOUNDARY && !p.startsWith('<'));
  if (phones.length === 0) throw new LexiconEntryError(`lexicon: "${word}": the respelling "${text}" has nothing the voice can say`);
  if (phones.length > LEXICON_LIMITS.phones)
    throw new LexiconEntryError(
      `lexicon: "${word}": the respelling "${text}" says ${phones.length} phonemes; a word may have at most ${LEXICON_LIMITS.phones}`,
    );
  return phones;
}

/** Symbols of ARPAbet with or without a stress digit, as a phoneme string writes them. */
const ARPABET_TOKEN = /^([A-Z]{1,2})[012]?$/;

/**
 * Reads what a user typed as a pronunciation: ARPAbet ("W IH1 N": every token a phoneme symbol in
 * capitals, or some token carrying a stress digit) or else a respelling ("win"). `as` forces either.
 */
export function parsePronunciation(text: string, as?: 'phonemes' | 'respelling'): { phonemes: string[] } | { respelling: string } {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  if (trimmed.length > LEXICON_LIMITS.pronunciationChars)
    throw new LexiconEntryError(`lexicon: a pronunciation may have at most ${LEXICON_LIMITS.pronunciationChars} characters`);
  const tokens = trimmed === '' ? [] : trimmed.split(' ');
  const symbol = (t: string): boolean => {
    const m = ARPABET_TOKEN.exec(t.toUpperCase());
    return m !== null && (CONSONANT_SET.has(m[1]) || VOWEL_SET.has(m[1]));
  };
  // A stress digit cannot be part of a respelling (letters only), so one marks a phoneme string.
  const looksArpabet = tokens.some((t) => /[012]$/.test(t)) || (tokens.length > 0 && tokens.every((t) => t === t.toUpperCase() && symbol(t)));
  if (as === 'phonemes' || (as === undefined && looksArpabet)) return { phonemes: tokens };
  return { respelling: trimmed };
}

/** A checked entry from a word and a typed pronunciation (see parsePronunciation). */
export function makeEntry(word: string, pronunciation: string, as?: 'phonemes' | 'respelling'): LexiconEntry {
  const checked = checkWord(word);
  const parsed = parsePronunciation(pronunciation, as);
  if ('phonemes' in parsed) return { word: checked, phonemes: checkPhonemes(checked, parsed.phonemes) };
  respellingPhonemes(checked, parsed.respelling);
  return { word: checked, respelling: parsed.respelling };
}

/** The phones an entry says (a respelling is read now, so it follows the dictionary it is read with). */
export function entryPhonemes(entry: LexiconEntry): string[] {
  if (entry.phonemes) return checkPhonemes(entry.word, entry.phonemes);
  if (entry.respelling !== undefined) return respellingPhonemes(entry.word, entry.respelling);
  throw new LexiconEntryError(`lexicon: "${entry.word}": neither phonemes nor a respelling`);
}

/** Entries → the map text preparation takes; a later entry for the same word wins. */
export function compileLexicon(entries: readonly LexiconEntry[]): UserLexicon {
  const map = new Map<string, readonly string[]>();
  for (const entry of entries) map.set(lexiconKey(checkWord(entry.word)), entryPhonemes(entry));
  return map;
}

/** The entries with `entry` in (replacing the same word in any case), sorted by word. */
export function withEntry(entries: readonly LexiconEntry[], entry: LexiconEntry): LexiconEntry[] {
  const key = lexiconKey(entry.word);
  const rest = entries.filter((e) => lexiconKey(e.word) !== key);
  if (rest.length >= LEXICON_LIMITS.entries) throw new LexiconEntryError(`lexicon: it already holds ${LEXICON_LIMITS.entries} entries, the most it may`);
  return [...rest, entry].sort((a, b) => lexiconKey(a.word).localeCompare(lexiconKey(b.word)));
}

/** The entries without `word` (any case); null when it was not there. */
export function withoutWord(entries: readonly LexiconEntry[], word: string): LexiconEntry[] | null {
  const key = lexiconKey(word.trim());
  const rest = entries.filter((e) => lexiconKey(e.word) !== key);
  return rest.length === entries.length ? null : rest;
}
