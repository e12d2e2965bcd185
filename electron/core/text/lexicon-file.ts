/**
 * The file that keeps the user's lexicon (user-lexicon.ts): lexicon.json in the user's config folder
 * (electron/core/config-dir.ts), read and written only when a shell calls these functions.
 *
 *   { "format": "spear-lexicon", "version": 1,
 *     "entries": [ { "word": "Nguyen", "respelling": "win" },
 *                  { "word": "Siobhan", "phonemes": "SH IH0 V AO1 N" } ] }
 *
 * Phonemes are one string, as CMUdict writes them, so the file is easy to edit by hand. Reading never
 * throws for a damaged file unless asked to (`strict`): a file that is not a lexicon is ignored with a
 * one-line notice, and an entry that fails its check is skipped with one. Writes are atomic.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { SpearError } from '../errors.ts';
import { fileError, writeFileAtomic } from '../files.ts';
import { checkWord, entryPhonemes, LEXICON_LIMITS, type LexiconEntry } from './user-lexicon.ts';

export const LEXICON_FILE_NAME = 'lexicon.json';
export const LEXICON_FORMAT = 'spear-lexicon';
export const LEXICON_VERSION = 1;

/** The lexicon file in a config folder. */
export const lexiconPath = (configDirectory: string): string => path.join(configDirectory, LEXICON_FILE_NAME);

/** The lexicon file cannot be used (strict reads, and writes over a damaged file). */
export class LexiconFileError extends SpearError {}

const fileSchema = z.object({
  format: z.literal(LEXICON_FORMAT),
  version: z.number().int(),
  entries: z.array(z.unknown()).max(LEXICON_LIMITS.entries),
});

const entrySchema = z.union([z.strictObject({ word: z.string(), phonemes: z.string() }), z.strictObject({ word: z.string(), respelling: z.string() })]);

export interface LexiconFile {
  readonly entries: LexiconEntry[];
  /** One line for the user when the file, or some of its entries, were ignored; null when all is well. */
  readonly notice: string | null;
  /** False when there is no file (an empty lexicon, no notice). */
  readonly exists: boolean;
}

/**
 * Reads a lexicon file. No file: no entries, no notice. A file that is unreadable, not JSON, not a
 * lexicon, or of a newer version: no entries and a notice (or LexiconFileError when `strict`). Entries
 * that fail their check are skipped with a notice naming the first (or LexiconFileError when `strict`).
 */
export async function readLexiconFile(file: string, options: { strict?: boolean } = {}): Promise<LexiconFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], notice: null, exists: false };
    const reason = (fileError(file, error, 'read it') as Error).message;
    if (options.strict) throw new LexiconFileError(`lexicon: ${reason}`);
    return { entries: [], notice: `lexicon: ${reason}; no pronunciations of yours are used`, exists: true };
  }
  const ignored = (why: string): LexiconFile => {
    if (options.strict) throw new LexiconFileError(`lexicon: ${file} ${why}; fix it or move it away`);
    return { entries: [], notice: `lexicon: ${file} ${why}; it is ignored`, exists: true };
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return ignored(`is not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return ignored(`is not a Spear Studio lexicon (${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'rejected'})`);
  }
  if (parsed.data.version !== LEXICON_VERSION) {
    return ignored(`is lexicon version ${parsed.data.version}; this Spear Studio reads version ${LEXICON_VERSION}`);
  }
  const entries: LexiconEntry[] = [];
  const skipped: string[] = [];
  parsed.data.entries.forEach((raw, i) => {
    const shape = entrySchema.safeParse(raw);
    if (!shape.success) {
      skipped.push(`entry ${i + 1} is not {"word", "phonemes"} or {"word", "respelling"}`);
      return;
    }
    const value = shape.data;
    try {
      const word = checkWord(value.word);
      const entry: LexiconEntry = 'phonemes' in value ? { word, phonemes: value.phonemes.trim().split(/\s+/) } : { word, respelling: value.respelling };
      const phonemes = entryPhonemes(entry);
      entries.push('phonemes' in value ? { word, phonemes } : entry);
    } catch (error) {
      skipped.push((error as Error).message.replace(/^lexicon: /, ''));
    }
  });
  if (skipped.length === 0) return { entries, notice: null, exists: true };
  const what = `${skipped.length} ${skipped.length === 1 ? 'entry' : 'entries'} skipped (${skipped[0]}${skipped.length > 1 ? '; …' : ''})`;
  if (options.strict) throw new LexiconFileError(`lexicon: ${file}: ${what}; fix it or move it away`);
  return { entries, notice: `lexicon: ${file}: ${what}`, exists: true };
}

/** The file's text for these entries. */
export function formatLexiconFile(entries: readonly LexiconEntry[]): string {
  const out = entries.map((e) => (e.phonemes ? { word: e.word, phonemes: e.phonemes.join(' ') } : { word: e.word, respelling: e.respelling }));
  return `${JSON.stringify({ format: LEXICON_FORMAT, version: LEXICON_VERSION, entries: out }, null, 2)}\n`;
}

/** Writes the entries atomically, creating the folder if needed. */
export async function writeLexiconFile(file: string, entries: readonly LexiconEntry[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true }).catch((error: unknown) => {
    throw fileError(file, error, 'write it');
  });
  await writeFileAtomic(file, formatLexiconFile(entries));
}
