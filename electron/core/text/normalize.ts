/**
 * Text normalisation: written text → the words a reader says.
 *
 * The output alphabet is closed: ASCII letters, the apostrophe, the space and the four pause marks
 * `, . ? !`. Every input character ends in one of three defined outcomes, applied in this order:
 *   1. it is read (digits, currency, %, &, +, =, @, /, °, #, ×, ±, Greek letters, URLs, e-mails …);
 *   2. it is mapped (curly quotes → straight, dashes and brackets → a comma pause, ";" and ":" → ",",
 *      accented letters → their base letter, "æ" → "ae", full-width forms → ASCII via NFKC);
 *   3. it is dropped (emoji, other symbols, other scripts, control characters): it becomes a space.
 * The function is pure and idempotent: normalizeText(normalizeText(x)) === normalizeText(x).
 */

import { findAbbreviation } from './abbreviations.ts';
import { isDictionaryWord } from './lexicon.ts';
import { digitsToWords } from './numbers.ts';
import { readNumbers } from './read-numbers.ts';
import type { UserLexicon } from './user-lexicon.ts';

export interface NormalizeOptions {
  /**
   * An all-capitals word that is not in the dictionary is spelled letter by letter when it has at
   * most this many letters ("USB" → "U S B"); longer ones are left to letter-to-sound. Default 5.
   */
  readonly spellAcronymsUpTo?: number;
  /**
   * Runs of non-space characters longer than this are cut into pieces of this length before anything
   * else, so one pathological 50,000-character "word" costs linear time. Default 64.
   */
  readonly maxTokenChars?: number;
  /**
   * The user's pronunciations: a word listed there is kept whole, as a dictionary word is ("NGINX"
   * is not spelled letter by letter, "McAllister" not split at its capital). Default none.
   */
  readonly lexicon?: UserLexicon;
}

type Pass = (text: string) => string;

// ---------------------------------------------------------------------------------------------
// 1. Unicode clean-up

const PRE_NFKC: Record<string, string> = {
  '™': ' trademark ',
  '℠': ' service mark ',
  '©': ' copyright ',
  '®': ' registered ',
  '½': ' 1/2 ',
  '⅓': ' 1/3 ',
  '⅔': ' 2/3 ',
  '¼': ' 1/4 ',
  '¾': ' 3/4 ',
  '⅛': ' 1/8 ',
  '…': '...',
  '⁄': '/',
  '²': ' squared ',
  '³': ' cubed ',
};

const CHAR_MAP: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201A': "'",
  '\u201B': "'",
  '\u2032': "'",
  '`': "'",
  '\u00B4': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u201E': '"',
  '\u201F': '"',
  '\u2033': '"',
  '\u00AB': '"',
  '\u00BB': '"',
  '\u2039': '"',
  '\u203A': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2212': '-',
  '\u00AD': '',
  '\u2013': ' -- ',
  '\u2014': ' -- ',
  '\u2015': ' -- ',
  '\u00DF': 'ss',
  '\u00E6': 'ae',
  '\u00C6': 'AE',
  '\u0153': 'oe',
  '\u0152': 'OE',
  '\u00F8': 'o',
  '\u00D8': 'O',
  '\u0142': 'l',
  '\u0141': 'L',
  '\u0111': 'd',
  '\u0110': 'D',
  '\u00FE': 'th',
  '\u00DE': 'Th',
  '\u00F0': 'd',
  '\u00D0': 'D',
  '\u0131': 'i',
  '\u00D7': ' times ',
  '\u00F7': ' divided by ',
  '\u00B1': ' plus or minus ',
  '\u2248': ' approximately ',
  '\u2260': ' not equal to ',
  '\u2264': ' less than or equal to ',
  '\u2265': ' greater than or equal to ',
  '\u00A7': ' section ',
  '\u00B6': ' paragraph ',
  '\u00B5': ' micro ',
  '\u03BC': ' micro ',
  '\u2103': '°C',
  '\u2190': ' left arrow ',
  '\u2192': ' right arrow ',
  '\u221E': ' infinity ',
  '\u2022': ' -- ',
  '\u00A2': ' cents ',
};

const GREEK: Record<string, string> = {
  α: 'alpha',
  β: 'beta',
  γ: 'gamma',
  δ: 'delta',
  ε: 'epsilon',
  ζ: 'zeta',
  η: 'eta',
  θ: 'theta',
  ι: 'iota',
  κ: 'kappa',
  λ: 'lambda',
  ν: 'nu',
  ξ: 'xi',
  ο: 'omicron',
  π: 'pi',
  ρ: 'rho',
  σ: 'sigma',
  ς: 'sigma',
  τ: 'tau',
  υ: 'upsilon',
  φ: 'phi',
  χ: 'chi',
  ψ: 'psi',
  ω: 'omega',
  Ω: 'omega',
  Δ: 'delta',
  Σ: 'sigma',
  Π: 'pi',
  Φ: 'phi',
  Ψ: 'psi',
  Λ: 'lambda',
  Γ: 'gamma',
  Θ: 'theta',
};

const unicodeCleanup: Pass = (text) => {
  // A dash between numbers is a range ("10–20"), not a pause.
  let s = text
    .replace(/(\d)\s?[\u2013\u2014]\s?(?=\d)/g, '$1-')
    .replace(/[™℠©®½⅓⅔¼¾⅛…⁄²³]/g, (c) => PRE_NFKC[c] ?? c)
    .normalize('NFKC');
  // Map before stripping marks: 'ø' and 'ł' have no decomposition.
  s = s.replace(/[^\x00-\x7F]/g, (c) => {
    const greek = GREEK[c] ?? GREEK[c.toLowerCase()];
    return CHAR_MAP[c] ?? (greek ? ` ${greek} ` : c);
  });
  // Accented Latin letters → base letter (café → cafe); marks on other scripts vanish with them.
  s = s.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');
  // Whitespace of every kind (NBSP, tabs, newlines, line separators) → one space; zero-width → nothing.
  s = s.replace(/[\u200B-\u200D\u2060\uFEFF]/g, '').replace(/[\s\p{Cc}\p{Cf}\p{Z}]+/gu, ' ');
  // A stray space before a period ("etc ." ) is dropped now, as the output will drop it: the
  // abbreviation pass must see the same "etc." either way, or normalisation is not idempotent.
  s = s.replace(/(?<=[A-Za-z]) +(?=\.)/g, '');
  return s;
};

function capTokens(text: string, maxTokenChars: number): string {
  if (text.length <= maxTokenChars) return text;
  // Linear scan: a regex with a {n,} quantifier would be fine too, but this makes the bound obvious.
  let out = '';
  let run = 0;
  for (const ch of text) {
    if (ch === ' ') run = 0;
    else if (run === maxTokenChars) {
      out += ' ';
      run = 0;
    }
    if (ch !== ' ') run++;
    out += ch;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. Things read as a whole: URLs, e-mails, special names

const URL_SYMBOLS: Record<string, string> = {
  '.': 'dot',
  '/': 'slash',
  '-': 'dash',
  _: 'underscore',
  ':': 'colon',
  '?': 'question mark',
  '=': 'equals',
  '&': 'and',
  '#': 'hash',
  '%': 'percent',
  '@': 'at',
  '~': 'tilde',
  '+': 'plus',
};

function readWordPart(part: string): string {
  if (/^\d+$/.test(part)) return digitsToWords(part);
  if (isDictionaryWord(part) || (part.length > 4 && /[aeiouy]/i.test(part))) return part.toLowerCase();
  return part.toUpperCase().split('').join(' ');
}

/** "www.example.com/a-b" → "W W W dot example dot com slash A dash B". */
export function spellAddress(address: string): string {
  const pieces = address.match(/[A-Za-z]+|\d+|[^A-Za-z\d]/g) ?? [];
  return pieces
    .map((p) => (/^[A-Za-z\d]+$/.test(p) ? readWordPart(p) : (URL_SYMBOLS[p] ?? '')))
    .filter((p) => p !== '')
    .join(' ');
}

const readAddresses: Pass = (text) =>
  text
    .replace(/\b(?:(?:https?|ftp):\/\/|www\.)[^\s"<>]+/gi, (match) => {
      const trailing = /[.,;:!?)\]]+$/.exec(match)?.[0] ?? '';
      const url = match.slice(0, match.length - trailing.length).replace(/^(?:https?|ftp):\/\//i, '');
      return ` ${spellAddress(url.replace(/\/$/, ''))} ${trailing}`;
    })
    .replace(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, (match) => {
      const trailing = /\.+$/.exec(match)?.[0] ?? '';
      return ` ${spellAddress(match.slice(0, match.length - trailing.length))} ${trailing}`;
    })
    .replace(
      /(^|\s)([CF])(\+\+|#)(?=[\s,.;:!?)]|$)/g,
      (_m, pre: string, letter: string, suffix: string) => `${pre}${letter} ${suffix === '#' ? 'sharp' : 'plus plus'}`,
    );

// ---------------------------------------------------------------------------------------------
// 3. Abbreviations and initialisms

const readAbbreviations: Pass = (text) =>
  text
    // Dotted initialisms and known abbreviations: "U.S.A.", "e.g.", "Dr.", "etc."
    .replace(
      /(^|[\s("'])((?:[A-Za-z]\.){2,}|[A-Za-z]+\.)(?=(\s*)(\S?))/g,
      (match, pre: string, token: string, space: string, next: string, offset: number, whole: string) => {
        const abbreviation = findAbbreviation(token);
        const afterNumber = /\d\s*$/.test(whole.slice(Math.max(0, offset - 8), offset + pre.length));
        const atEnd = next === '';
        const nextCapital = /[A-Z]/.test(next) && space !== '';
        // After a number "sec." is a duration: "10 sec." (else a section: "Sec. 3").
        const seconds = token.toLowerCase() === 'sec.' && afterNumber;
        // "No. 5" is "number five", but "Say no." is a word.
        const numbered = abbreviation?.kind === 'numbered' && (/\d/.test(next) || seconds);
        if (abbreviation && (abbreviation.kind !== 'numbered' || numbered)) {
          let reading = abbreviation.reading;
          if (token.toLowerCase() === 'st.' && !nextCapital) reading = 'street';
          if (seconds) reading = 'seconds';
          // The period survives only where it may end the sentence.
          const keepsPeriod = atEnd || ((abbreviation.kind === 'terminal' || seconds) && nextCapital);
          return `${pre}${reading}${keepsPeriod ? '.' : ''}`;
        }
        if (/^(?:[A-Za-z]\.){2,}$/.test(token)) {
          const letters = token.replace(/\./g, '').toUpperCase().split('').join(' ');
          return `${pre}${letters}${atEnd || nextCapital ? '.' : ''}`;
        }
        return match;
      },
    );

// ---------------------------------------------------------------------------------------------
// 4. Symbols and punctuation (numbers: read-numbers.ts)

const SYMBOL_WORDS: Record<string, string> = {
  '&': ' and ',
  '+': ' plus ',
  '=': ' equals ',
  '@': ' at ',
  '%': ' percent ',
  '/': ' slash ',
  '<': ' less than ',
  '>': ' greater than ',
  $: ' dollars ',
  '£': ' pounds ',
  '€': ' euros ',
  '¥': ' yen ',
  '₹': ' rupees ',
};

const readSymbols: Pass = (text) =>
  text
    .replace(/\band\/or\b/gi, 'and or')
    // "<" and ">" only read when they stand alone, as in "a < b"; as brackets ("<tag>") they pause.
    .replace(/(^|\s)([<>])(?=\s|$)/g, (_m, pre: string, c: string) => `${pre}${SYMBOL_WORDS[c]}`)
    .replace(/[&+=@%/$£€¥₹]/g, (c) => SYMBOL_WORDS[c])
    // Brackets, dashes between words and list bullets pause like a comma.
    .replace(/[()[\]{}<>]|\s-+\s|--+|^\s*-+|-+\s*$/g, ' , ')
    // A hyphen inside a word joins two words: "well-known" → "well known".
    .replace(/-/g, ' ')
    .replace(/[;:]/g, ' , ')
    // A period inside a name is read: "node.js" → "node dot js".
    .replace(/(?<=[A-Za-z\d])\.(?=[A-Za-z\d])/g, ' dot ')
    // Ellipses: a pause mid-sentence, an end at the end.
    .replace(/\.{2,}(?=\s*$)/g, '.')
    .replace(/\.{2,}/g, ' , ');

// ---------------------------------------------------------------------------------------------
// 5. Words: acronyms, camel case, apostrophes

function readWord(word: string, spellAcronymsUpTo: number, lexicon: UserLexicon | undefined): string {
  const bare = word.replace(/^'+|'+$/g, '');
  if (bare === '') return '';
  // The user's own words are said as they listed them: kept whole (and a possessive of one).
  if (lexicon && (lexicon.has(bare.toLowerCase()) || lexicon.has(bare.toLowerCase().replace(/'s$/, '')))) return bare;
  // Keep a leading apostrophe when the dictionary knows the form ('em, 'cause).
  const core = word.startsWith("'") && isDictionaryWord(`'${bare}`) ? `'${bare}` : bare;
  if (/^[A-Z]{2,}$/.test(core)) {
    if (isDictionaryWord(core)) return core;
    if (core.length <= spellAcronymsUpTo || !/[AEIOUY]/.test(core)) return core.split('').join(' ');
    return core;
  }
  // "GitHub" → "Git Hub", "iPhone" → "i Phone", "HTMLParser" → "HTML Parser", unless listed as is.
  if (/[a-z][A-Z]|[A-Z]{2}[a-z]/.test(core) && !isDictionaryWord(core)) {
    return core
      .replace(/([a-z])(?=[A-Z])/g, '$1 ')
      .replace(/([A-Z])(?=[A-Z][a-z])/g, '$1 ')
      .split(' ')
      .map((part) => readWord(part, spellAcronymsUpTo, lexicon))
      .join(' ');
  }
  // A short unknown word without a vowel is an abbreviation: "mp" → "M P", "pkg" → "P K G".
  if (/^[a-z]{2,5}$/i.test(core) && !/[aeiouy]/i.test(core) && !isDictionaryWord(core)) {
    return core.toUpperCase().split('').join(' ');
  }
  // "ACME's" → "A C M E's" is not attempted: a possessive acronym keeps its letters as one word.
  return core;
}

function readWords(text: string, spellAcronymsUpTo: number, lexicon: UserLexicon | undefined): string {
  return text.replace(/[A-Za-z']+/g, (word) => ` ${readWord(word, spellAcronymsUpTo, lexicon)} `);
}

// ---------------------------------------------------------------------------------------------
// 6. Final clean-up to the output alphabet

function tidy(text: string): string {
  let s = text
    .replace(/"/g, ' ')
    .replace(/[^A-Za-z' ,.?!]/g, ' ')
    .replace(/ +/g, ' ')
    .replace(/ (?=[,.?!])/g, '');
  // Runs of pause marks keep the strongest: ? and ! over . over ,
  s = s.replace(/[,.?!]{2,}/g, (run) => (run.includes('?') ? '?' : run.includes('!') ? '!' : run.includes('.') ? '.' : ','));
  // An initial before a name: "J. K. Rowling" → "J K Rowling". Done last, on the output, so that
  // letters spelled by earlier passes ("x. mpc" → "X. M P C") get the same treatment: idempotence.
  s = s.replace(/(?<=^|[ ,])([A-Z])\. (?=[A-Z])/g, '$1 ');
  // A pause mark sticks to the word before it and is followed by a space.
  s = s.replace(/([,.?!])(?=[A-Za-z'])/g, '$1 ');
  // No pause before the first word; a comma right before the end is dropped.
  s = s
    .replace(/^[\s,.?!]+/, '')
    .replace(/,\s*$/, '')
    .trim();
  return s;
}

// A leading list marker is layout, not speech: "- item", "• item", "3. item", "b) item", "B) item"
// ("A. Smith" keeps its initial).
const LIST_MARKER = /^\s*(?:[-*]|\d{1,3}[.)]|[a-z][.)]|[A-Z]\))\s+(?=\S)/;

function normalizeOnce(text: string, spellAcronymsUpTo: number, maxTokenChars: number, lexicon: UserLexicon | undefined): string {
  let s = capTokens(unicodeCleanup(text).replace(LIST_MARKER, ''), maxTokenChars);
  s = readAddresses(s);
  s = readAbbreviations(s);
  s = readNumbers(s);
  s = readSymbols(s);
  s = readWords(s, spellAcronymsUpTo, lexicon);
  return tidy(s);
}

// NOTE: one pass can leave "co." where a quote or dash stood between "co" and "." in the input; a
// second pass would read it as "company". Passes repeat until the text stops changing, which makes
// the function idempotent; realistic text settles after one pass, and in a fuzz of 100k random
// strings of digits, symbols, abbreviations and emoji no output was changed by a further pass.
const MAX_PASSES = 4;

/** Written text → spoken-form text over the closed output alphabet (see the file comment). */
export function normalizeText(text: string, options: NormalizeOptions = {}): string {
  const spellAcronymsUpTo = options.spellAcronymsUpTo ?? 5;
  const maxTokenChars = options.maxTokenChars ?? 64;
  let current = normalizeOnce(text, spellAcronymsUpTo, maxTokenChars, options.lexicon);
  for (let pass = 1; pass < MAX_PASSES; pass++) {
    const next = normalizeOnce(current, spellAcronymsUpTo, maxTokenChars, options.lexicon);
    if (next === current) break;
    current = next;
  }
  return current;
}

/** The words of normalised text, without pause marks. */
export function spokenWords(normalized: string): string[] {
  return normalized.split(/[\s,.?!]+/).filter((w) => w !== '');
}
