/**
 * The pronouncing dictionary: CMUdict (npm `cmu-pronouncing-dictionary`, ~135k words, ARPAbet with
 * stress digits), turned into a Map once, on first use.
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

let lexicon: Map<string, readonly string[]> | undefined;

function buildLexicon(): Map<string, readonly string[]> {
  const map = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(dictionary)) {
    if (key.includes('(')) continue; // alternative pronunciation
    // NOTE: some entries carry a comment after '#' ("aalborg": "AO1 L B AO0 R G # place, danish").
    const hash = value.indexOf('#');
    const phones = (hash >= 0 ? value.slice(0, hash) : value).trim().split(/\s+/);
    map.set(key, phones);
  }
  for (const [word, phones] of Object.entries(SUPPLEMENT)) if (!map.has(word)) map.set(word, phones.split(' '));
  return map;
}

/** The dictionary as a Map from lower-case word to its ARPAbet phones; built on the first call (~0.3 s). */
export function getLexicon(): ReadonlyMap<string, readonly string[]> {
  lexicon ??= buildLexicon();
  return lexicon;
}

/** The dictionary pronunciation of a word (any case), or undefined when the word is not listed. */
export function lookupWord(word: string): readonly string[] | undefined {
  return getLexicon().get(word.toLowerCase());
}

/** Whether the dictionary lists the word (any case). */
export function isDictionaryWord(word: string): boolean {
  return getLexicon().has(word.toLowerCase());
}
