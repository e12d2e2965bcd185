/**
 * Abbreviations that end in a period: how each is read, and whether its period may also end a
 * sentence. Shared by the normaliser (expansion) and the sentence splitter (no split after "Dr.").
 * Keys are lower case without the final period.
 */

export interface Abbreviation {
  /** The words it is read as. */
  readonly reading: string;
  /**
   * 'title' comes before a name and never ends a sentence ("Dr. Smith");
   * 'numbered' is an abbreviation only before a number ("No. 5", "Fig. 3"), elsewhere an ordinary
   * word ("Say no.", "set it to ch.");
   * 'inline' is read mid-sentence and does not end one ("e.g. this"); 'terminal' may end a sentence
   * ("… and so on, etc. Then …"): the splitter splits after it when the next word is capitalised.
   */
  readonly kind: 'title' | 'numbered' | 'inline' | 'terminal';
}

export const ABBREVIATIONS: ReadonlyMap<string, Abbreviation> = new Map<string, Abbreviation>([
  ['dr', { reading: 'doctor', kind: 'title' }],
  ['mr', { reading: 'mister', kind: 'title' }],
  ['mrs', { reading: 'missus', kind: 'title' }],
  ['ms', { reading: 'miz', kind: 'title' }],
  ['prof', { reading: 'professor', kind: 'title' }],
  ['st', { reading: 'saint', kind: 'title' }],
  ['mt', { reading: 'mount', kind: 'title' }],
  ['sgt', { reading: 'sergeant', kind: 'title' }],
  ['capt', { reading: 'captain', kind: 'title' }],
  ['gen', { reading: 'general', kind: 'title' }],
  ['gov', { reading: 'governor', kind: 'title' }],
  ['rev', { reading: 'reverend', kind: 'title' }],
  ['no', { reading: 'number', kind: 'numbered' }],
  ['fig', { reading: 'figure', kind: 'numbered' }],
  ['figs', { reading: 'figures', kind: 'numbered' }],
  ['vol', { reading: 'volume', kind: 'numbered' }],
  ['ch', { reading: 'chapter', kind: 'numbered' }],
  ['sec', { reading: 'section', kind: 'numbered' }],
  ['eq', { reading: 'equation', kind: 'numbered' }],
  ['e.g', { reading: 'for example', kind: 'inline' }],
  ['i.e', { reading: 'that is', kind: 'inline' }],
  ['vs', { reading: 'versus', kind: 'inline' }],
  ['cf', { reading: 'compare', kind: 'inline' }],
  ['approx', { reading: 'approximately', kind: 'inline' }],
  ['ca', { reading: 'circa', kind: 'inline' }],
  ['esp', { reading: 'especially', kind: 'inline' }],
  ['incl', { reading: 'including', kind: 'inline' }],
  ['resp', { reading: 'respectively', kind: 'terminal' }],
  ['etc', { reading: 'et cetera', kind: 'terminal' }],
  ['jr', { reading: 'junior', kind: 'terminal' }],
  ['sr', { reading: 'senior', kind: 'terminal' }],
  ['inc', { reading: 'incorporated', kind: 'terminal' }],
  ['ltd', { reading: 'limited', kind: 'terminal' }],
  ['co', { reading: 'company', kind: 'terminal' }],
  ['corp', { reading: 'corporation', kind: 'terminal' }],
  ['dept', { reading: 'department', kind: 'terminal' }],
  ['univ', { reading: 'university', kind: 'terminal' }],
  ['ave', { reading: 'avenue', kind: 'terminal' }],
  ['blvd', { reading: 'boulevard', kind: 'terminal' }],
  ['rd', { reading: 'road', kind: 'terminal' }],
  ['min', { reading: 'minutes', kind: 'terminal' }],
  ['max', { reading: 'maximum', kind: 'terminal' }],
  ['hr', { reading: 'hours', kind: 'terminal' }],
  ['hrs', { reading: 'hours', kind: 'terminal' }],
  ['a.m', { reading: 'A M', kind: 'terminal' }],
  ['p.m', { reading: 'P M', kind: 'terminal' }],
  // Inline: "the U.S. Army" is more common than a sentence ending in "U.S." before a capital.
  ['u.s', { reading: 'U S', kind: 'inline' }],
  ['u.k', { reading: 'U K', kind: 'inline' }],
  ['jan', { reading: 'january', kind: 'inline' }],
  ['feb', { reading: 'february', kind: 'inline' }],
  ['mar', { reading: 'march', kind: 'inline' }],
  ['apr', { reading: 'april', kind: 'inline' }],
  ['jun', { reading: 'june', kind: 'inline' }],
  ['jul', { reading: 'july', kind: 'inline' }],
  ['aug', { reading: 'august', kind: 'inline' }],
  ['sep', { reading: 'september', kind: 'inline' }],
  ['sept', { reading: 'september', kind: 'inline' }],
  ['oct', { reading: 'october', kind: 'inline' }],
  ['nov', { reading: 'november', kind: 'inline' }],
  ['dec', { reading: 'december', kind: 'inline' }],
]);

/** The abbreviation a token ending in "." is, if any ("Dr." → doctor; "e.g." → for example). */
export function findAbbreviation(tokenWithPeriod: string): Abbreviation | undefined {
  if (!tokenWithPeriod.endsWith('.')) return undefined;
  return ABBREVIATIONS.get(tokenWithPeriod.slice(0, -1).toLowerCase());
}
