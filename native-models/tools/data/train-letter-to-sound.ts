/**
 * Train the letter-to-sound model from CMUdict itself and write
 * electron/core/text/letter-to-sound-model.json (committed; regenerate with this command):
 *
 *   node --import tsx native-models/tools/data/train-letter-to-sound.ts [--eval-only]
 *
 * 1. Alignment: each letter emits 0, 1 or 2 phones. Hard EM (Viterbi) on log p(phones | letter),
 *    stress ignored while aligning; a few iterations from a flat start converge.
 * 2. Prediction: for each letter, the most frequent emission given a letter window, backing off from
 *    3 letters either side to the letter alone (chain in letter-to-sound.ts). A context is stored only
 *    where its answer differs from what the shorter context would say (lossless pruning), and only
 *    when seen at least MIN_COUNT times beyond the 3-letter window (less overfitting, smaller file).
 * Held out: every word whose sha1 starts with 0x00–0x04 (~2%), for the error rates printed at the end.
 */

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLexicon } from '../../../electron/core/text/lexicon.ts';
import { CONTEXT_CHAIN, contextKey, fixStress, predictWithModel, type LetterToSoundModel } from '../../../electron/core/text/letter-to-sound.ts';

const MODEL_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'electron', 'core', 'text', 'letter-to-sound-model.json');
const EM_ITERATIONS = 6;
// Measured on the held-out words: MIN_COUNT 1 gives 9.8% phone errors with 78k contexts (~1 MB),
// MIN_COUNT 2 gives 10.7% with 34k contexts (450 kB). The smaller model is kept.
const MIN_COUNT = 2;
const EPSILON = '';

interface Word {
  readonly letters: string;
  readonly phones: readonly string[];
}

const stripStress = (phone: string): string => phone.replace(/\d$/, '');

function isHeldOut(word: string): boolean {
  return createHash('sha1').update(word).digest()[0] < 5;
}

function loadWords(): { train: Word[]; test: Word[] } {
  const train: Word[] = [];
  const test: Word[] = [];
  for (const [word, phones] of getLexicon()) {
    if (!/^[a-z]+$/.test(word) || phones.length === 0) continue;
    // An alignment needs letters ≥ phones / 2; a few abbreviations ("mr", "www") cannot align.
    if (phones.length > 2 * word.length) continue;
    (isHeldOut(word) ? test : train).push({ letters: word, phones });
  }
  return { train, test };
}

/** Viterbi alignment: one emission (a phone string, possibly empty or two phones) per letter. */
function align(word: Word, logProb: (letter: string, emission: string) => number): string[] | undefined {
  const n = word.letters.length;
  const m = word.phones.length;
  // best[i][j]: best score of letters[0, i) emitting phones[0, j)
  const best: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(-Infinity));
  const back: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  best[0][0] = 0;
  for (let i = 1; i <= n; i++) {
    const letter = word.letters[i - 1];
    for (let j = 0; j <= m; j++) {
      for (let take = 0; take <= 2 && take <= j; take++) {
        const previous = best[i - 1][j - take];
        if (previous === -Infinity) continue;
        const emission = word.phones
          .slice(j - take, j)
          .map(stripStress)
          .join(' ');
        const score = previous + logProb(letter, emission);
        if (score > best[i][j]) {
          best[i][j] = score;
          back[i][j] = take;
        }
      }
    }
  }
  if (best[n][m] === -Infinity) return undefined;
  const emissions: string[] = new Array<string>(n);
  let j = m;
  for (let i = n; i > 0; i--) {
    const take = back[i][j];
    emissions[i - 1] = word.phones.slice(j - take, j).join(' '); // with stress, for prediction
    j -= take;
  }
  return emissions;
}

function trainAlignment(words: readonly Word[]): string[][] {
  let counts = new Map<string, Map<string, number>>();
  // Flat start: every emission of 0–2 phones equally likely, two-phone emissions penalised.
  let logProb = (_letter: string, emission: string): number => -(emission === EPSILON ? 2 : emission.includes(' ') ? 4 : 1);
  let alignments: (string[] | undefined)[] = [];
  for (let iteration = 0; iteration < EM_ITERATIONS; iteration++) {
    alignments = words.map((w) => align(w, logProb));
    counts = new Map();
    alignments.forEach((emissions, k) => {
      if (!emissions) return;
      emissions.forEach((emission, i) => {
        const letter = words[k].letters[i];
        const key = emission
          .split(' ')
          .filter((p) => p !== '')
          .map(stripStress)
          .join(' ');
        const byLetter = counts.get(letter) ?? new Map<string, number>();
        byLetter.set(key, (byLetter.get(key) ?? 0) + 1);
        counts.set(letter, byLetter);
      });
    });
    const snapshot = counts;
    logProb = (letter, emission) => {
      const byLetter = snapshot.get(letter);
      const total = byLetter ? [...byLetter.values()].reduce((a, b) => a + b, 0) : 0;
      const count = byLetter?.get(emission) ?? 0;
      return Math.log((count + 0.01) / (total + 1));
    };
    const aligned = alignments.filter((a) => a !== undefined).length;
    console.log(`align: iteration ${iteration + 1}/${EM_ITERATIONS}, ${aligned}/${words.length} words aligned`);
  }
  return alignments.map((a) => a ?? []);
}

function argmax(counts: ReadonlyMap<string, number>): [emission: string, count: number] {
  let bestEmission = '';
  let bestCount = -1;
  // Ties go to the lexicographically smaller emission, so training is deterministic.
  for (const [emission, count] of counts) {
    if (count > bestCount || (count === bestCount && emission < bestEmission)) {
      bestEmission = emission;
      bestCount = count;
    }
  }
  return [bestEmission, bestCount];
}

function trainModel(words: readonly Word[], alignments: readonly string[][]): LetterToSoundModel {
  // Counts per chain level: context key → emission → count.
  const levels = CONTEXT_CHAIN.map(() => new Map<string, Map<string, number>>());
  words.forEach((word, k) => {
    const emissions = alignments[k];
    if (emissions.length !== word.letters.length) return;
    for (let i = 0; i < word.letters.length; i++) {
      CONTEXT_CHAIN.forEach(([left, right], level) => {
        const key = contextKey(word.letters, i, left, right);
        const byContext = levels[level].get(key) ?? new Map<string, number>();
        byContext.set(emissions[i], (byContext.get(emissions[i]) ?? 0) + 1);
        levels[level].set(key, byContext);
      });
    }
  });
  // From the shortest context up: keep an entry only where it changes the answer.
  const model: LetterToSoundModel = { format: 'spear-lts/1', chain: CONTEXT_CHAIN.map((c) => [...c]), tables: CONTEXT_CHAIN.map(() => ({})) };
  for (let level = CONTEXT_CHAIN.length - 1; level >= 0; level--) {
    for (const [key, byContext] of levels[level]) {
      const [emission] = argmax(byContext);
      const total = [...byContext.values()].reduce((a, b) => a + b, 0);
      if (level < CONTEXT_CHAIN.length - 3 && total < MIN_COUNT) continue;
      const fallback = backoffAnswer(model, key, level);
      if (fallback !== emission || level === CONTEXT_CHAIN.length - 1) model.tables[level][key] = emission;
    }
  }
  return model;
}

/** What the model answers for a context key when its own level is skipped. */
function backoffAnswer(model: LetterToSoundModel, key: string, level: number): string | undefined {
  // The key is the letter window of this level; the letter sits at index `left`.
  const [left] = CONTEXT_CHAIN[level];
  for (let lower = level + 1; lower < CONTEXT_CHAIN.length; lower++) {
    const [l, r] = CONTEXT_CHAIN[lower];
    const answer = model.tables[lower][key.slice(left - l, left + 1 + r)];
    if (answer !== undefined) return answer;
  }
  return undefined;
}

function editDistance(a: readonly string[], b: readonly string[]): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function evaluate(model: LetterToSoundModel, words: readonly Word[]): { phoneErrorRate: number; wordAccuracy: number; stresslessWordAccuracy: number } {
  let errors = 0;
  let phones = 0;
  let exact = 0;
  let stressless = 0;
  for (const word of words) {
    const predicted = fixStress(predictWithModel(model, word.letters));
    errors += editDistance(predicted.map(stripStress), word.phones.map(stripStress));
    phones += word.phones.length;
    if (predicted.join(' ') === word.phones.join(' ')) exact++;
    if (predicted.map(stripStress).join(' ') === word.phones.map(stripStress).join(' ')) stressless++;
  }
  return { phoneErrorRate: errors / phones, wordAccuracy: exact / words.length, stresslessWordAccuracy: stressless / words.length };
}

const { train, test } = loadWords();
console.log(`words: ${train.length} train, ${test.length} held out`);
const alignments = trainAlignment(train);
const model = trainModel(train, alignments);
const entries = model.tables.reduce((n, t) => n + Object.keys(t).length, 0);
console.log(`model: ${entries} contexts over ${CONTEXT_CHAIN.length} levels`);
const heldOut = evaluate(model, test);
console.log(
  `held out: phone error rate ${(heldOut.phoneErrorRate * 100).toFixed(1)}% (stress ignored), ` +
    `word accuracy ${(heldOut.wordAccuracy * 100).toFixed(1)}% (with stress), ${(heldOut.stresslessWordAccuracy * 100).toFixed(1)}% (stress ignored)`,
);
if (!process.argv.includes('--eval-only')) {
  writeFileSync(MODEL_PATH, `${JSON.stringify({ ...model, heldOut })}\n`);
  console.log(`wrote ${MODEL_PATH}`);
}
