/**
 * From gathered paragraphs to the corpus: split into sentences, keep clean English ones, normalise,
 * dedup, and assign a stable split.
 *
 * A sentence's id is the first 16 hex digits of sha1(normalised text). The teacher audio is rendered
 * from that normalised text, so the id names exactly what was spoken: if normalisation changes, the
 * sentence gets a new id and new audio, and stale audio is never paired with new text.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BENCH_TEXTS_URL } from '../../../electron/core/eval/bench-texts.ts';
import { normalizeText, spokenWords } from '../../../electron/core/text/normalize.ts';
import { splitSentences } from '../../../electron/core/text/sentences.ts';
import { isDictionaryWord } from '../../../electron/core/text/lexicon.ts';
import { phonemeIds } from '../../../electron/core/text/phonemes.ts';
import type { Paragraph } from './gather.ts';

export type Split = 'train' | 'val' | 'test';

export interface CorpusEntry {
  readonly id: string;
  /** Normalised text: what Festival reads and what the phonemes spell. */
  readonly text: string;
  /** Ids relative to PHONEME_INVENTORY. */
  readonly phonemes: number[];
}

export interface SelectOptions {
  /** Words per sentence, after normalisation (inclusive). Default 3 … 25. */
  readonly minWords?: number;
  readonly maxWords?: number;
  /** Share of the hash space in validation and test. Default 0.02 and 0.025. */
  readonly valFraction?: number;
  readonly testFraction?: number;
  /** Stop once this many train sentences are kept (sentences are taken in hash order). Default 10,000. */
  readonly targetTrain?: number;
  /**
   * Validation and test sentences are kept only while fewer than this many are train (default: targetTrain).
   * Growing the training set with `targetTrain` above it leaves validation and test exactly as they were
   * (hash order is stable), so figures measured on them stay comparable; later held-out candidates are
   * dropped, never trained on.
   */
  readonly evalUntilTrain?: number;
  /**
   * Caps of a second pass that tops the train split up to `targetTrain` once the first pass (the caps
   * above, ending at `evalUntilTrain`) has run out: [per source, per family, per opening]. It adds train
   * sentences only, so the first pass's selection, validation and test included, is unchanged. Default: none.
   */
  readonly extraCaps?: readonly [number, number, number];
  /** At most this many sentences from one source (one man page, one package, one README). Default 12. */
  readonly maxPerSource?: number;
  /** At most this many sentences from one source family ("gcloud_*" man pages are one family). Default 150. */
  readonly maxPerFamily?: number;
  /** At most this many sentences starting with the same three words. Default 8. */
  readonly maxPerOpening?: number;
  /**
   * Source kinds (the part before ":") whose entries are short texts of their own, not one verbose
   * document: the per-source and per-family caps do not apply to them. Default: the everyday sources of
   * everyday.ts (fortune, wordnet, gcide).
   */
  readonly uncappedKinds?: readonly string[];
  /** Sentences never selected, by dedupKey (the bench texts, so they stay held out). Default: none. */
  readonly exclude?: ReadonlySet<string>;
}

export interface Selection {
  readonly splits: Record<Split, CorpusEntry[]>;
  readonly counts: { paragraphs: number; sentences: number; clean: number; unique: number };
}

// Characters that mark code, markup, paths or options rather than prose.
// Also: calls and man page references "f(x)", "pipe(2)", roff requests ".TH", identifiers "URIs", "GVariant".
const CODE_LIKE = /[\\/{}[\]<>|_=#$^~*@`]|:\/\/|--|::|->|\(\)|\w\.\w{2,}|(?:^|\s)[-+.]\w|\.\.|[;:]$|\w\(|[A-Z]{2}[a-z]|[a-z][A-Z]/;

/** Whether an original sentence looks like clean prose (before normalisation). */
export function isCleanSource(sentence: string): boolean {
  if (sentence.length < 15 || sentence.length > 220) return false;
  if (!/^[A-Z][a-z']*[ ,]/.test(sentence)) return false; // starts like a sentence, with a word
  if (!/[a-z][.!?]$/.test(sentence)) return false; // ends like one, after a word
  if (CODE_LIKE.test(sentence)) return false;
  if (/[^\x20-\x7E\u2018\u2019\u201C\u201D\u2014\u2013]/.test(sentence)) return false; // other scripts, symbols
  if ((sentence.match(/\d/g) ?? []).length > 4) return false; // version- and number-heavy
  if ((sentence.match(/\b[A-Z]{2,}\b/g) ?? []).length > 2) return false;
  if ((sentence.match(/[()"]/g) ?? []).length > 2) return false;
  return true;
}

/** Whether every spoken word is a dictionary word (a lone capital letter is a spelled letter). */
export function isReadable(normalized: string, minWords: number, maxWords: number): boolean {
  // One sentence: a pause mark other than a comma only at the end ("… of rm. rm removes …" is two).
  if (!/^[^.!?]*[.!?]$/.test(normalized)) return false;
  const words = spokenWords(normalized);
  if (words.length < minWords || words.length > maxWords) return false;
  return words.every((w) => /^[A-Z]$/.test(w) || isDictionaryWord(w));
}

/** Two sentences are the same when they say the same words: lower-case letters, apostrophes and spaces. */
export function dedupKey(normalized: string): string {
  return normalized.toLowerCase().replace(/[^a-z' ]/g, '');
}

/** The built-in bench texts (electron/core/eval/bench-texts.txt) as dedup keys, to keep them out of any training selection. */
export function benchTextKeys(): Set<string> {
  return new Set(
    readFileSync(BENCH_TEXTS_URL, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => dedupKey(normalizeText(l))),
  );
}

export function sentenceHash(normalized: string): Buffer {
  return createHash('sha1').update(normalized, 'utf8').digest();
}

/** The split from hash bytes 8…11 (independent of the selection order, which uses bytes 0…7). */
export function splitOf(hash: Buffer, valFraction: number, testFraction: number): Split {
  const u = hash.readUInt32BE(8) / 2 ** 32;
  if (u < valFraction) return 'val';
  if (u < valFraction + testFraction) return 'test';
  return 'train';
}

function familyOf(source: string): string {
  const [kind, name] = source.split(':', 2);
  return `${kind}:${(name ?? '').split(/[_/.-]/)[0]}`;
}

export function selectCorpus(paragraphs: readonly Paragraph[], options: SelectOptions = {}): Selection {
  const minWords = options.minWords ?? 3;
  const maxWords = options.maxWords ?? 25;
  const valFraction = options.valFraction ?? 0.02;
  const testFraction = options.testFraction ?? 0.025;
  const targetTrain = options.targetTrain ?? 10_000;
  const evalUntilTrain = options.evalUntilTrain ?? targetTrain;
  const maxPerSource = options.maxPerSource ?? 12;
  const maxPerFamily = options.maxPerFamily ?? 150;
  const maxPerOpening = options.maxPerOpening ?? 8;
  const uncappedKinds = new Set(options.uncappedKinds ?? ['fortune', 'wordnet', 'gcide']);
  const exclude = options.exclude ?? new Set<string>();

  let sentences = 0;
  let clean = 0;
  const unique = new Map<string, { text: string; source: string; hash: Buffer }>();
  for (const paragraph of paragraphs) {
    for (const sentence of splitSentences(paragraph.text, { maxWords: 1000, maxChars: 10_000 })) {
      sentences++;
      if (!isCleanSource(sentence.text)) continue;
      const text = normalizeText(sentence.text);
      if (!isReadable(text, minWords, maxWords)) continue;
      clean++;
      const key = dedupKey(text);
      if (exclude.has(key)) continue;
      if (!unique.has(key)) unique.set(key, { text, source: paragraph.source, hash: sentenceHash(text) });
    }
  }

  // Hash order is a stable shuffle; the caps keep one verbose man page family from dominating.
  const ordered = [...unique.values()].sort((a, b) => Buffer.compare(a.hash.subarray(0, 8), b.hash.subarray(0, 8)));
  const perSource = new Map<string, number>();
  const perFamily = new Map<string, number>();
  const perOpening = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string): number => {
    const n = (map.get(key) ?? 0) + 1;
    map.set(key, n);
    return n;
  };
  const splits: Record<Split, CorpusEntry[]> = { train: [], val: [], test: [] };
  const taken = new Set<Buffer>();
  const pass = (caps: readonly [number, number, number], stopAt: number, trainOnly: boolean): void => {
    const [perSourceCap, perFamilyCap, perOpeningCap] = caps;
    for (const candidate of ordered) {
      if (splits.train.length >= stopAt) break;
      if (taken.has(candidate.hash)) continue;
      const split = splitOf(candidate.hash, valFraction, testFraction);
      if (trainOnly && split !== 'train') continue;
      const opening = spokenWords(candidate.text.toLowerCase()).slice(0, 3).join(' ');
      const family = familyOf(candidate.source);
      const capped = !uncappedKinds.has(candidate.source.split(':', 1)[0]);
      if (capped && (perSource.get(candidate.source) ?? 0) >= perSourceCap) continue;
      if (capped && (perFamily.get(family) ?? 0) >= perFamilyCap) continue;
      if ((perOpening.get(opening) ?? 0) >= perOpeningCap) continue;
      bump(perSource, candidate.source);
      bump(perFamily, family);
      bump(perOpening, opening);
      taken.add(candidate.hash);
      if (split !== 'train' && splits.train.length >= evalUntilTrain) continue;
      const id = candidate.hash.subarray(0, 8).toString('hex');
      splits[split].push({ id, text: candidate.text, phonemes: phonemeIds(candidate.text, { normalized: true }) });
    }
  };
  pass([maxPerSource, maxPerFamily, maxPerOpening], targetTrain, false);
  if (options.extraCaps) pass(options.extraCaps, targetTrain, true);
  return { splits, counts: { paragraphs: paragraphs.length, sentences, clean, unique: unique.size } };
}
