/**
 * The pronouncing dictionary: CMUdict (npm `cmu-pronouncing-dictionary`, ~135k words, ARPAbet with
 * stress digits). A word's entry is parsed the first time it is looked up: turning all of them into a
 * Map up front took ~0.2 s, paid by the first sentence of every `spear synth` and of the studio's first
 * job (measured: first audio of a cold process 501 ms, 275 of them before the first sentence was ready).
 *
 * Only each word's first pronunciation is kept ("read(2)" and friends are ignored): the front end has
 * no part-of-speech tagger to choose between them, and a fixed choice keeps the output deterministic.
 */

import { dictionary } from 'cmu-pronouncing-dictionary';

/**
 * Words the normaliser itself emits that CMUdict lacks ("Ms." → "miz", "5 GiB" → "gibibytes"):
 * letter-to-sound gets some of them wrong ("miz" → M AY1 Z), so they are listed here.
 */
const SUPPLEMENT: Readonly<Record<string, string>> = {
  miz: 'M IH1 Z',
  eta: 'EY1 T AH0',
  tau: 'T AW1',
  omicron: 'AA1 M AH0 K R AA2 N',
  upsilon: 'UW1 P S AH0 L AA2 N',
  gigahertz: 'G IH1 G AH0 HH ER2 T S',
  kibibyte: 'K IH1 B IY0 B AY2 T',
  kibibytes: 'K IH1 B IY0 B AY2 T S',
  mebibyte: 'M EH1 B IY0 B AY2 T',
  mebibytes: 'M EH1 B IY0 B AY2 T S',
  gibibyte: 'G IH1 B IY0 B AY2 T',
  gibibytes: 'G IH1 B IY0 B AY2 T S',
  paisa: 'P AY1 S AA0',
  paise: 'P AY1 S EY0',
};

const parsed = new Map<string, readonly string[]>();

/** The word's phones as CMUdict lists them first (or the supplement), parsed once; undefined if neither has it. */
function entry(word: string): readonly string[] | undefined {
  const known = parsed.get(word);
  if (known) return known;
  let phones: readonly string[] | undefined;
  // Own properties only ("constructor" is not a word of the dictionary); "read(2)"-style keys are alternatives.
  if (Object.hasOwn(dictionary, word) && !word.includes('(')) {
    const value = (dictionary as Record<string, string>)[word];
    // NOTE: some entries carry a comment after '#' ("aalborg": "AO1 L B AO0 R G # place, danish").
    const hash = value.indexOf('#');
    phones = (hash >= 0 ? value.slice(0, hash) : value).trim().split(/\s+/);
  } else if (Object.hasOwn(SUPPLEMENT, word)) {
    phones = SUPPLEMENT[word].split(' ');
  }
  if (phones) parsed.set(word, phones);
  return phones;
}

/** The whole dictionary as a Map from lower-case word to its ARPAbet phones (tooling; ~0.2 s to build). */
export function getLexicon(): ReadonlyMap<string, readonly string[]> {
  const map = new Map<string, readonly string[]>();
  for (const word of [...Object.keys(dictionary), ...Object.keys(SUPPLEMENT)]) {
    const phones = map.has(word) ? undefined : entry(word);
    if (phones) map.set(word, phones);
  }
  return map;
}

/** The dictionary pronunciation of a word (any case), or undefined when the word is not listed. */
export function lookupWord(word: string): readonly string[] | undefined {
  return entry(word.toLowerCase());
}

/** Whether the dictionary lists the word (any case). */
export function isDictionaryWord(word: string): boolean {
  return entry(word.toLowerCase()) !== undefined;
}
