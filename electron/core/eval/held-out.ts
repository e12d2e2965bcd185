/** The corpus's held-out splits (never trained on), read from a work folder made by native-models/tools/data. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';

export interface HeldOutSentence {
  id: string;
  text: string;
  phonemes: number[];
}

async function readJsonl<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new InputError(
      `${file}: missing; spear eval needs the teacher's corpus and units, which a clone does not carry: build them as native-models/README.md says under "The corpus" (Festival, a few hours on 2 cores)`,
    );
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/**
 * The sentences of a held-out split (`test`, `val`) that have teacher units, sorted by id, and those units
 * (0-based unit ids by sentence id), from `work`'s corpus/ and units/ folders.
 */
export async function heldOutSentences(work: string, split: string): Promise<{ sentences: HeldOutSentence[]; unitsById: Map<string, number[]> }> {
  const all = await readJsonl<HeldOutSentence>(path.join(work, `corpus/${split}.jsonl`));
  const unitsById = new Map((await readJsonl<{ id: string; units: number[] }>(path.join(work, `units/${split}.jsonl`))).map((u) => [u.id, u.units]));
  return { sentences: all.filter((s) => unitsById.has(s.id)).sort((a, b) => a.id.localeCompare(b.id)), unitsById };
}
