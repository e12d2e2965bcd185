/**
 * When each word is said: the sentence's spoken words (its phoneme ids, split at word boundaries and
 * pauses) are placed in its units by the reading check's CTC forced alignment (reading-check.ts
 * ctcAlign), or, for a voice without a check, in proportion to their phones. The spoken words are then
 * given back to the words as written (a token "1999" says three words; "—" says none), so subtitles
 * and the studio's highlight name the text the user wrote.
 */
import { normalizeText } from '../text/normalize.ts';
import { phonemeIds as toPhonemeIds } from '../text/phonemes.ts';

/** A written word and when it is heard. */
export interface WordTiming {
  /** The word as written (document.slice(start, end)). */
  text: string;
  /** Character offsets [start, end) into the document. */
  start: number;
  end: number;
  /** Seconds into the document's audio. */
  startSeconds: number;
  endSeconds: number;
}

/** Phoneme ids below this are separators: the word boundary and the four pause marks (phonemes.ts). */
const FIRST_PHONE_ID = 5;

/** Each spoken word of a sentence as [first, end) indices into its phoneme ids. */
export function spokenWordSpans(phonemeIds: readonly number[]): Array<[number, number]> {
  const words: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= phonemeIds.length; i++) {
    const phone = i < phonemeIds.length && phonemeIds[i] >= FIRST_PHONE_ID;
    if (phone && start < 0) start = i;
    else if (!phone && start >= 0) {
      words.push([start, i]);
      start = -1;
    }
  }
  return words;
}

/** A sentence's written tokens (whitespace-separated) with their spans and how many words each says. */
export function writtenTokens(sentence: string, offset: number): Array<{ text: string; start: number; end: number; spoken: number }> {
  return [...sentence.matchAll(/\S+/g)].map((m) => ({
    text: m[0],
    start: offset + m.index,
    end: offset + m.index + m[0].length,
    spoken: spokenWordSpans(toPhonemeIds(normalizeText(m[0]), { normalized: true })).length,
  }));
}

/**
 * Which spoken words each token gets, as [first, end) indices: in order, `spoken[i]` each when they
 * add up to `total` (normalising token by token read the sentence as a whole did), else shared out
 * in proportion, so every spoken word still belongs to one token.
 */
export function assignSpokenWords(spoken: readonly number[], total: number): Array<[number, number]> {
  const sum = spoken.reduce((a, b) => a + b, 0);
  const out: Array<[number, number]> = [];
  let at = 0;
  let cumulative = 0;
  for (const n of spoken) {
    cumulative += n;
    const end = sum === total ? cumulative : sum === 0 ? 0 : Math.round((cumulative / sum) * total);
    out.push([at, Math.max(at, end)]);
    at = Math.max(at, end);
  }
  return out;
}

/**
 * Each spoken word's [start, end) in unit positions (fractional): from an alignment (per phoneme, its
 * [first, last] unit, null for separators) where there is one, else the units shared out in proportion
 * to the words' phones, a pause counting as one phone. A word's end runs to the next word's start
 * unless a pause lies between, where it ends two units (80 ms) after its last aligned unit.
 */
export function wordUnitSpans(
  phonemeIds: readonly number[],
  unitCount: number,
  alignment: ReadonlyArray<[number, number] | null> | null,
): Array<[number, number]> {
  const words = spokenWordSpans(phonemeIds);
  if (words.length === 0 || unitCount === 0) return words.map(() => [0, 0]);
  if (alignment) {
    const spans = words.map(([a, b]) => {
      const aligned = alignment.slice(a, b).filter((x): x is [number, number] => x !== null);
      return aligned.length ? ([aligned[0][0], aligned[aligned.length - 1][1]] as [number, number]) : null;
    });
    if (spans.every((s) => s !== null)) {
      return spans.map(([first, last], i) => {
        const nextStart = i + 1 < spans.length ? spans[i + 1]![0] : unitCount;
        return [first, Math.max(first + 1, Math.min(nextStart, last + 3, unitCount))];
      });
    }
  }
  // In proportion: each word's phones, each separator between words as one phone of silence.
  const weights = words.map(([a, b], i) => ({ word: b - a, gap: i + 1 < words.length ? (phonemeIds[b] === 0 ? 0 : 1) : 0 }));
  const total = weights.reduce((n, w) => n + w.word + w.gap, 0);
  const perWeight = unitCount / total;
  let at = 0;
  return weights.map((w) => {
    const span: [number, number] = [at, at + w.word * perWeight];
    at += (w.word + w.gap) * perWeight;
    return span;
  });
}

export interface SentenceTimingInput {
  /** The sentence as written, and where it starts in the document. */
  text: string;
  start: number;
  /** The phoneme ids the decoder was prompted with. */
  phonemeIds: readonly number[];
  unitCount: number;
  /** Alignment of the phonemes to the units, when the voice has a reading check. */
  alignment: ReadonlyArray<[number, number] | null> | null;
  /** Where the sentence's audio starts in the document, and how long it is, in seconds. */
  offsetSeconds: number;
  durationSeconds: number;
}

/** The written words of one sentence with their times in the document's audio. */
export function sentenceWordTimings(input: SentenceTimingInput): WordTiming[] {
  const spans = wordUnitSpans(input.phonemeIds, input.unitCount, input.alignment);
  const tokens = writtenTokens(input.text, input.start);
  const assigned = assignSpokenWords(
    tokens.map((t) => t.spoken),
    spans.length,
  );
  const secondsPerUnit = input.unitCount > 0 ? input.durationSeconds / input.unitCount : 0;
  const timings: WordTiming[] = [];
  tokens.forEach((token, i) => {
    const [first, end] = assigned[i];
    if (end <= first) return;
    timings.push({
      text: token.text,
      start: token.start,
      end: token.end,
      startSeconds: input.offsetSeconds + spans[first][0] * secondsPerUnit,
      endSeconds: input.offsetSeconds + spans[end - 1][1] * secondsPerUnit,
    });
  });
  return timings;
}
