/** Word error rate: (substitutions + deletions + insertions) / reference words, by Levenshtein alignment. */
import { normalizeText } from '../text/index.ts';

/** Words as a recogniser writes them: the normalised reading, lower case, letters and apostrophes only. */
export function werWords(text: string): string[] {
  return normalizeText(text)
    .toLowerCase()
    .split(/[^a-z']+/)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
}

/** Edit distance between word sequences. */
export function wordErrors(reference: readonly string[], hypothesis: readonly string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const current = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = previous[j - 1] + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j] + 1, current[j - 1] + 1));
    }
    previous = current;
  }
  return previous[hypothesis.length];
}

/** Corpus-level WER over pairs of (reference text, recognised text), in percent. */
export function corpusWer(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): { wer: number; errors: number; words: number } {
  let errors = 0;
  let words = 0;
  for (const { reference, hypothesis } of pairs) {
    const ref = werWords(reference);
    errors += wordErrors(ref, werWords(hypothesis));
    words += ref.length;
  }
  return { wer: words > 0 ? (100 * errors) / words : 0, errors, words };
}
