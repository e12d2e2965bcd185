/**
 * Letter-to-sound for words the dictionary lacks: a small model learned from CMUdict itself
 * (native-models/tools/data/train-letter-to-sound.ts writes letter-to-sound-model.json next to this file).
 *
 * Each letter emits 0, 1 or 2 phones, chosen by the most specific letter window seen in training:
 * 3 letters either side, backing off along CONTEXT_CHAIN to the letter alone. Table look-ups only,
 * so it is deterministic and fast. Held-out error rates are stored in the model file and in
 * docs/text-and-corpus.md.
 */

import { readFileSync } from 'node:fs';
import { SpearError } from '../errors.ts';

/** (left, right) letter counts around the letter, most specific first; each window contains the next. */
export const CONTEXT_CHAIN: ReadonlyArray<readonly [number, number]> = [
  [3, 3],
  [2, 3],
  [2, 2],
  [1, 2],
  [1, 1],
  [0, 1],
  [0, 0],
];

export interface LetterToSoundModel {
  readonly format: 'spear-lts/1';
  readonly chain: number[][];
  /** One table per chain level: letter window ('#' pads the word ends) → emitted phones ("" = none). */
  readonly tables: Record<string, string>[];
}

export class LetterToSoundModelError extends SpearError {}

const MODEL_URL = new URL('./letter-to-sound-model.json', import.meta.url);
const VOWEL = /^(?:AA|AE|AH|AO|AW|AY|EH|ER|EY|IH|IY|OW|OY|UH|UW)[012]$/;

let model: LetterToSoundModel | undefined;

function loadModel(): LetterToSoundModel {
  let parsed: LetterToSoundModel;
  try {
    parsed = JSON.parse(readFileSync(MODEL_URL, 'utf8')) as LetterToSoundModel;
  } catch (error) {
    throw new LetterToSoundModelError(
      `${MODEL_URL.pathname}: ${(error as Error).message}; regenerate it with ` + '`node --import tsx native-models/tools/data/train-letter-to-sound.ts`',
    );
  }
  const sameChain = JSON.stringify(parsed.chain) === JSON.stringify(CONTEXT_CHAIN);
  if (parsed.format !== 'spear-lts/1' || !sameChain || parsed.tables.length !== CONTEXT_CHAIN.length) {
    throw new LetterToSoundModelError(`${MODEL_URL.pathname}: not a spear-lts/1 model with this CONTEXT_CHAIN; retrain it`);
  }
  return parsed;
}

/** The letter window around letters[i]: `left` letters, the letter, `right` letters, '#' beyond the ends. */
export function contextKey(letters: string, i: number, left: number, right: number): string {
  let key = '';
  for (let k = i - left; k <= i + right; k++) key += k >= 0 && k < letters.length ? letters[k] : '#';
  return key;
}

/** The phones a model predicts for a lower-case a–z word, stress as emitted (see fixStress). */
export function predictWithModel(lts: LetterToSoundModel, letters: string): string[] {
  const phones: string[] = [];
  for (let i = 0; i < letters.length; i++) {
    for (let level = 0; level < CONTEXT_CHAIN.length; level++) {
      const [left, right] = CONTEXT_CHAIN[level];
      const emission = lts.tables[level][contextKey(letters, i, left, right)];
      if (emission === undefined) continue;
      if (emission !== '') phones.push(...emission.split(' '));
      break;
    }
  }
  return phones;
}

/**
 * Exactly one primary stress: each letter's emission carries the stress it had in training words, so
 * a prediction can have none or several. The first primary wins; without one, the first secondary or
 * else the first vowel is promoted.
 */
export function fixStress(phones: readonly string[]): string[] {
  const out = [...phones];
  const vowels = out.map((p, i) => (VOWEL.test(p) ? i : -1)).filter((i) => i >= 0);
  if (vowels.length === 0) return out;
  const primaries = vowels.filter((i) => out[i].endsWith('1'));
  if (primaries.length === 0) {
    const promoted = vowels.find((i) => out[i].endsWith('2')) ?? vowels[0];
    out[promoted] = `${out[promoted].slice(0, -1)}1`;
  } else {
    for (const i of primaries.slice(1)) out[i] = `${out[i].slice(0, -1)}2`;
  }
  return out;
}

/** An unknown word's ARPAbet phones with stress digits. Characters other than a–z (any case) are ignored. */
export function letterToSound(word: string): string[] {
  const letters = word.toLowerCase().replace(/[^a-z]/g, '');
  if (letters === '') return [];
  model ??= loadModel();
  return fixStress(predictWithModel(model, letters));
}
