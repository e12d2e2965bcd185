/**
 * What the English reader will not read well, found before any decoding: text in another language
 * (a cheap stop-word and diacritics vote among common European languages), letters of another
 * script, and characters the normaliser drops (emoji, symbols, other scripts; normalize.ts, rule 3).
 * Each finding becomes one warning sentence; nothing here changes what is read.
 */
import { normalizeText } from './normalize.ts';

/** Languages the vote tells apart, with their most frequent short words (function words only). */
const STOP_WORDS: Record<string, readonly string[]> = {
  English: [
    'the',
    'and',
    'of',
    'to',
    'is',
    'that',
    'it',
    'was',
    'for',
    'with',
    'are',
    'be',
    'this',
    'by',
    'you',
    'he',
    'have',
    'not',
    'they',
    'his',
    'her',
    'at',
    'from',
    'or',
    'which',
    'we',
    'were',
    'has',
    'been',
    'will',
    'would',
    'can',
    'there',
    'their',
    'what',
    'all',
    'if',
    'my',
    'our',
    'your',
    'she',
    'him',
    'them',
    'had',
    'but',
    'an',
    'on',
    'in',
    'as',
    'i',
  ],
  German: [
    'der',
    'die',
    'das',
    'und',
    'ist',
    'nicht',
    'ich',
    'sie',
    'ein',
    'eine',
    'zu',
    'mit',
    'sich',
    'auf',
    'dem',
    'den',
    'des',
    'auch',
    'es',
    'von',
    'wir',
    'wird',
    'werden',
    'nach',
    'aber',
    'oder',
    'wenn',
    'noch',
    'nur',
    'kann',
    'bei',
    'aus',
    'über',
    'für',
    'im',
    'ein',
    'einen',
    'einem',
    'war',
    'hat',
    'sind',
    'dass',
    'wie',
    'er',
  ],
  French: [
    'le',
    'la',
    'les',
    'et',
    'est',
    'une',
    'des',
    'du',
    'que',
    'qui',
    'pas',
    'pour',
    'dans',
    'sur',
    'avec',
    'ce',
    'il',
    'elle',
    'nous',
    'vous',
    'sont',
    'au',
    'aux',
    'mais',
    'ou',
    'par',
    'plus',
    'je',
    'ne',
    'se',
    'cette',
    'été',
    'être',
    'un',
    'très',
    'était',
    'ont',
    'leur',
    'sa',
    'son',
    'ses',
  ],
  Spanish: [
    'el',
    'los',
    'las',
    'y',
    'es',
    'una',
    'del',
    'que',
    'por',
    'con',
    'para',
    'pero',
    'como',
    'muy',
    'su',
    'sus',
    'está',
    'son',
    'se',
    'lo',
    'al',
    'mi',
    'yo',
    'también',
    'un',
    'la',
    'en',
    'no',
    'fue',
    'hay',
    'este',
    'esta',
    'más',
  ],
  Italian: [
    'il',
    'lo',
    'gli',
    'e',
    'è',
    'di',
    'che',
    'non',
    'per',
    'una',
    'della',
    'sono',
    'con',
    'ma',
    'anche',
    'questo',
    'come',
    'del',
    'nel',
    'alla',
    'un',
    'la',
    'le',
    'si',
    'ha',
    'era',
    'più',
    'molto',
    'questa',
  ],
  Dutch: [
    'de',
    'het',
    'een',
    'en',
    'van',
    'ik',
    'niet',
    'zijn',
    'dat',
    'op',
    'voor',
    'met',
    'maar',
    'ook',
    'wij',
    'naar',
    'hoe',
    'dit',
    'er',
    'is',
    'te',
    'aan',
    'hij',
    'ze',
    'wordt',
    'bij',
    'om',
    'deze',
  ],
  Portuguese: [
    'o',
    'os',
    'as',
    'e',
    'é',
    'um',
    'uma',
    'não',
    'do',
    'da',
    'dos',
    'das',
    'em',
    'para',
    'com',
    'que',
    'mas',
    'se',
    'ao',
    'também',
    'no',
    'na',
    'mais',
    'foi',
    'muito',
    'está',
    'são',
    'pelo',
    'pela',
  ],
};

/** Letters that (almost) only one of these languages writes: each is a vote for it. */
const DIACRITICS: Record<string, RegExp> = {
  German: /[äöüß]/giu,
  French: /[èêëçœîûùâ]/giu,
  Spanish: /[ñ¿¡]/giu,
  Portuguese: /[ãõ]/giu,
  Italian: /[ìò]/giu,
};

const WORD_SETS = Object.fromEntries(Object.entries(STOP_WORDS).map(([language, words]) => [language, new Set(words)]));

/** Scripts other than Latin that the reader cannot say, by Unicode script name as the warning says it. */
const SCRIPTS: ReadonlyArray<[name: string, pattern: RegExp]> = [
  ['Cyrillic', /\p{Script=Cyrillic}/gu],
  ['Greek', /\p{Script=Greek}/gu],
  ['Arabic', /\p{Script=Arabic}/gu],
  ['Hebrew', /\p{Script=Hebrew}/gu],
  ['Chinese (Han)', /\p{Script=Han}/gu],
  ['Japanese kana', /[\p{Script=Hiragana}\p{Script=Katakana}]/gu],
  ['Korean (Hangul)', /\p{Script=Hangul}/gu],
  ['Devanagari', /\p{Script=Devanagari}/gu],
  ['Thai', /\p{Script=Thai}/gu],
  ['Armenian', /\p{Script=Armenian}/gu],
  ['Georgian', /\p{Script=Georgian}/gu],
  ['Bengali', /\p{Script=Bengali}/gu],
  ['Tamil', /\p{Script=Tamil}/gu],
];

/** Characters looked at by the language vote: enough for a reliable vote, bounded for a long book. */
const SAMPLE_CHARS = 200_000;

export interface LanguageGuess {
  /** The language the words look like ("German"). */
  language: string;
  /** Share of the sample's words that are that language's stop words. */
  share: number;
}

/**
 * The language a text looks written in when it is not English, or null when it looks English (or is
 * too short to tell). A vote: each word that is a stop word of a language counts for it, each letter
 * only that language writes counts half; another language wins only with clearly more votes than
 * English and at least one word in ten.
 */
export function guessLanguage(text: string): LanguageGuess | null {
  const sample = text.slice(0, SAMPLE_CHARS).toLowerCase();
  const words = sample.match(/\p{L}+/gu) ?? [];
  if (words.length < 4) return null;
  const votes: Record<string, number> = Object.fromEntries(Object.keys(STOP_WORDS).map((l) => [l, 0]));
  for (const word of words) for (const language in WORD_SETS) if (WORD_SETS[language].has(word)) votes[language]++;
  const stopShare = (language: string): number => votes[language] / words.length;
  for (const [language, pattern] of Object.entries(DIACRITICS)) votes[language] += 0.5 * (sample.match(pattern)?.length ?? 0);
  let best = 'English';
  for (const language in votes) if (votes[language] > votes[best]) best = language;
  if (best === 'English') return null;
  if (votes[best] < 1.5 * votes.English + 2 || stopShare(best) < 0.1) return null;
  return { language: best, share: stopShare(best) };
}

/** Letters of scripts the reader cannot say, by script, largest first (only scripts with ≥ 3 letters). */
export function otherScripts(text: string): Array<{ script: string; letters: number }> {
  const found: Array<{ script: string; letters: number }> = [];
  if (/^[\x00-\x7F]*$/.test(text)) return found;
  for (const [script, pattern] of SCRIPTS) {
    const letters = text.match(pattern)?.length ?? 0;
    if (letters >= 3) found.push({ script, letters });
  }
  return found.sort((a, b) => b.letters - a.letters);
}

export interface DroppedCharacter {
  char: string;
  count: number;
}

/**
 * Letters, digits and symbols of `text` that the normaliser drops (they become silence): one entry
 * per distinct character, most frequent first. Punctuation, spaces and invisible format characters
 * are silent by design and not listed.
 */
export function droppedCharacters(text: string): DroppedCharacter[] {
  const counts = new Map<string, number>();
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) continue;
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  const silent = normalizeText('a b');
  const dropped: DroppedCharacter[] = [];
  for (const [char, count] of counts) {
    if (!/[\p{L}\p{N}\p{S}]/u.test(char)) continue;
    // The normaliser is the authority: a character it reads or maps leaves something between a and b.
    if (normalizeText(`a ${char} b`) === silent) dropped.push({ char, count });
  }
  return dropped.sort((a, b) => b.count - a.count || a.char.localeCompare(b.char));
}

/** Most distinct dropped characters a warning lists by name. */
const LISTED = 8;

/**
 * One-line warnings about what the English reader will read badly or not at all, in the order a
 * reader of them would want: the language, other scripts, then dropped characters.
 */
export function textWarnings(text: string): string[] {
  const warnings: string[] = [];
  const guess = guessLanguage(text);
  if (guess) warnings.push(`the text looks ${guess.language}; the voice reads English, so it will be read with English rules`);
  const scripts = otherScripts(text);
  for (const { script, letters } of scripts) {
    warnings.push(
      script === 'Greek'
        ? `the text has ${letters} letters in Greek script; the voice reads English and says each Greek letter by its name`
        : `the text has ${letters} letters in ${script} script; the voice reads English and skips them`,
    );
  }
  // Letters of a script already warned about are not listed again one by one.
  const warned = SCRIPTS.filter(([name]) => scripts.some((s) => s.script === name)).map(([, p]) => new RegExp(p.source, 'u'));
  const dropped = droppedCharacters(text).filter((d) => !warned.some((p) => p.test(d.char)));
  if (dropped.length > 0) {
    const total = dropped.reduce((n, d) => n + d.count, 0);
    const listed = dropped
      .slice(0, LISTED)
      .map((d) => `${d.char} (U+${d.char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})${d.count > 1 ? ` ×${d.count}` : ''}`)
      .join(', ');
    warnings.push(
      `${total} character${total === 1 ? '' : 's'} the voice cannot say will be skipped: ${listed}${dropped.length > LISTED ? `, and ${dropped.length - LISTED} more kinds` : ''}`,
    );
  }
  return warnings;
}
