/**
 * Sentence splitting with character spans into the original text (the UI highlights the sentence
 * being spoken, so spans are never computed on normalised text).
 *
 * Invariant (tested): the spans are in order, do not overlap, and together cover every non-space
 * character of the document; each span starts and ends on a non-space character.
 */

import { findAbbreviation } from './abbreviations.ts';

export interface Sentence {
  /** document.slice(start, end) */
  readonly text: string;
  /** Offset of the first character, in UTF-16 code units. */
  readonly start: number;
  /** Offset one past the last character. */
  readonly end: number;
}

export interface SplitOptions {
  /**
   * A sentence longer than this many words is cut, at a clause boundary (, ; : dash) near its middle
   * when there is one, else at the cap. A token's weight is its digit count when it has digits
   * ("1999" is spoken as three words), else 1. Default 30.
   */
  readonly maxWords?: number;
  /** A sentence longer than this many characters is cut the same way. Default 300. */
  readonly maxChars?: number;
  /** A single token longer than this is cut into pieces of this length, each a word. Default 40. */
  readonly maxWordChars?: number;
}

interface Span {
  start: number;
  end: number;
}

const TERMINATORS = '.!?\u2026';
const CLOSERS = `"')]}\u2019\u201D\u00BB`;
// Capital letters count only with ")": "A. Smith" at the start of a line is an initial.
const BULLET = /^(?:[-*\u2022\u25E6\u2023]|\d{1,3}[.)]|[a-z][.)]|[A-Z]\))\s/;
// A list marker at the start of a block: its period is a label, not a sentence end ("d. The …").
const LIST_MARKER = /^\s*(?:\d{1,3}[.)]|[a-z][.)]|[A-Z]\))(?=\s)/;

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

/** Blocks between hard boundaries: blank lines, list items, and short heading-like lines. */
function splitBlocks(doc: string): Span[] {
  const lines: Span[] = [];
  let lineStart = 0;
  for (let i = 0; i <= doc.length; i++) {
    if (i === doc.length || doc[i] === '\n') {
      lines.push({ start: lineStart, end: i });
      lineStart = i + 1;
    }
  }
  const blocks: Span[] = [];
  let current: Span | undefined;
  let previousLine = '';
  for (const line of lines) {
    const text = doc.slice(line.start, line.end);
    const trimmed = text.trim();
    if (trimmed === '') {
      if (current) blocks.push(current);
      current = undefined;
      previousLine = '';
      continue;
    }
    const heading = previousLine !== '' && !/[.!?:;,\u2026]["')\]]*$/.test(previousLine) && previousLine.split(/\s+/).length <= 6 && /^[A-Z\d]/.test(trimmed);
    if (current && (BULLET.test(trimmed) || heading)) {
      blocks.push(current);
      current = undefined;
    }
    if (current) current.end = line.end;
    else current = { start: line.start, end: line.end };
    previousLine = trimmed;
  }
  if (current) blocks.push(current);
  return blocks;
}

/** Whether the terminator run doc[from, to), followed by closers up to afterClosers, ends the sentence begun at sentenceStart. */
function endsSentence(doc: string, sentenceStart: number, from: number, to: number, afterClosers: number, blockEnd: number): boolean {
  let next = afterClosers;
  while (next < blockEnd && isSpace(doc[next])) next++;
  if (next >= blockEnd) return true;
  if (next === afterClosers) return false; // no space after: "3.14", "e.g.x", "file.txt"
  const nextChar = doc[next];
  if (/\p{Ll}/u.test(nextChar)) return false;
  const run = doc.slice(from, to);
  if (run !== '.') return true;
  let wordStart = from;
  while (wordStart > 0 && !isSpace(doc[wordStart - 1]) && !'("\''.includes(doc[wordStart - 1])) wordStart--;
  const token = doc.slice(wordStart, to);
  // A number opening a sentence is a list label: "… it. 2. Run it."
  if (/^\d{1,3}\.$/.test(token) && doc.slice(sentenceStart, wordStart).trim() === '') return false;
  const nextCapital = /\p{Lu}/u.test(nextChar);
  const abbreviation = findAbbreviation(token);
  if (abbreviation) {
    if (abbreviation.kind === 'terminal') return nextCapital;
    // "sec." after a number is a duration that may end a sentence: "Wait 10 sec. Then …".
    if (token.toLowerCase() === 'sec.' && /\d\s*$/.test(doc.slice(Math.max(0, wordStart - 8), wordStart))) return nextCapital;
    // "No. 5" goes on; "Say no." ends.
    if (abbreviation.kind === 'numbered') return !/\d/.test(nextChar);
    return false;
  }
  // An initial before a name: "J. R. R. Tolkien".
  if (/^\p{Lu}\.$/u.test(token) && nextCapital) return false;
  return true;
}

function splitBlock(doc: string, block: Span): Span[] {
  const out: Span[] = [];
  let start = block.start;
  const marker = LIST_MARKER.exec(doc.slice(block.start, Math.min(block.end, block.start + 16)));
  for (let i = block.start + (marker ? marker[0].length : 0); i < block.end; i++) {
    if (!TERMINATORS.includes(doc[i])) continue;
    let to = i;
    while (to < block.end && TERMINATORS.includes(doc[to])) to++;
    const runEnd = to;
    while (to < block.end && CLOSERS.includes(doc[to])) to++;
    if (endsSentence(doc, start, i, runEnd, to, block.end)) {
      out.push({ start, end: to });
      start = to;
    }
    i = to - 1;
  }
  if (start < block.end) out.push({ start, end: block.end });
  return out;
}

/** Whitespace-separated tokens of a span, long ones cut into pieces of maxWordChars. */
function tokenSpans(doc: string, span: Span, maxWordChars: number): Span[] {
  const tokens: Span[] = [];
  let i = span.start;
  while (i < span.end) {
    while (i < span.end && isSpace(doc[i])) i++;
    if (i >= span.end) break;
    let j = i;
    while (j < span.end && !isSpace(doc[j])) j++;
    let k = i;
    while (k < j) {
      let pieceEnd = Math.min(j, k + maxWordChars);
      // NOTE: never cut a surrogate pair (an emoji) in half.
      if (pieceEnd < j && /[\uD800-\uDBFF]/.test(doc[pieceEnd - 1])) pieceEnd++;
      tokens.push({ start: k, end: pieceEnd });
      k = pieceEnd;
    }
    i = j;
  }
  return tokens;
}

function tokenWeight(doc: string, token: Span): number {
  let digits = 0;
  for (let i = token.start; i < token.end; i++) if (doc[i] >= '0' && doc[i] <= '9') digits++;
  return Math.max(1, digits);
}

const CLAUSE_END = /[,;:\u2014\u2013]["')\]]*$|^[-\u2014\u2013]+$/;

/** Greedy pieces of at most maxWords weight and maxChars characters (at least one token each). */
function cutAtCap(_doc: string, tokens: Span[], weights: number[], maxWords: number, maxChars: number): Span[][] {
  const pieces: Span[][] = [];
  let first = 0;
  let weight = 0;
  for (let k = 0; k < tokens.length; k++) {
    const tooLong = weight + weights[k] > maxWords || tokens[k].end - tokens[first].start > maxChars;
    if (k > first && tooLong) {
      pieces.push(tokens.slice(first, k));
      first = k;
      weight = 0;
    }
    weight += weights[k];
  }
  pieces.push(tokens.slice(first));
  return pieces;
}

/** Cut a run of tokens into pieces within the caps: at the clause boundary nearest the middle, else at the cap. */
function capTokens(doc: string, tokens: Span[], maxWords: number, maxChars: number): Span[][] {
  const weights = tokens.map((t) => tokenWeight(doc, t));
  const total = weights.reduce((a, b) => a + b, 0);
  const chars = tokens.length === 0 ? 0 : tokens[tokens.length - 1].end - tokens[0].start;
  if ((total <= maxWords && chars <= maxChars) || tokens.length <= 1) return [tokens];
  let best = -1;
  let bestDistance = Infinity;
  let running = 0;
  const minSide = Math.min(3, Math.floor(tokens.length / 2));
  for (let k = 0; k < tokens.length - 1; k++) {
    running += weights[k];
    if (k + 1 < minSide || tokens.length - (k + 1) < minSide) continue;
    if (!CLAUSE_END.test(doc.slice(tokens[k].start, tokens[k].end))) continue;
    const distance = Math.abs(running - total / 2);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = k + 1;
    }
  }
  if (best < 0) return cutAtCap(doc, tokens, weights, maxWords, maxChars);
  return [...capTokens(doc, tokens.slice(0, best), maxWords, maxChars), ...capTokens(doc, tokens.slice(best), maxWords, maxChars)];
}

/** Split a document into sentences with their spans in the original text (see the file comment). */
export function splitSentences(document: string, options: SplitOptions = {}): Sentence[] {
  const maxWords = options.maxWords ?? 30;
  const maxChars = options.maxChars ?? 300;
  const maxWordChars = options.maxWordChars ?? 40;
  const sentences: Sentence[] = [];
  for (const block of splitBlocks(document)) {
    for (const span of splitBlock(document, block)) {
      const tokens = tokenSpans(document, span, maxWordChars);
      if (tokens.length === 0) continue;
      for (const piece of capTokens(document, tokens, maxWords, maxChars)) {
        const start = piece[0].start;
        const end = piece[piece.length - 1].end;
        sentences.push({ text: document.slice(start, end), start, end });
      }
    }
  }
  return sentences;
}
