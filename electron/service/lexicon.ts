/**
 * The user's pronunciation lexicon as the service keeps it: in lexicon.json (the file `spear lexicon`
 * edits; the hosts pass its path), or in memory (tests, browser-mode runs given no file).
 *
 * The file is read again for every listing and job, so an edit made with the CLI while the studio
 * runs is used by the next job; it is compiled again only when its text changed. Every change reads
 * the file strictly first: a damaged file is refused, never overwritten.
 */
import { readFile } from 'node:fs/promises';
import { readLexiconFile, writeLexiconFile } from '../core/text/lexicon-file.ts';
import {
  compileLexicon,
  entryPhonemes,
  LexiconEntryError,
  makeEntry,
  withEntry,
  withoutWord,
  type LexiconEntry,
  type UserLexicon,
} from '../core/text/user-lexicon.ts';
import type { LexiconInfo } from '../ipc-contract.ts';

export interface LexiconStore {
  /** The entries as the studio lists them, with a notice when the file could not be used. */
  info(): Promise<LexiconInfo>;
  /** What text preparation takes; undefined when there are no entries. */
  compiled(): Promise<UserLexicon | undefined>;
  /** Adds or replaces the word's entry (see makeEntry); saved before it returns. */
  add(word: string, pronunciation: string): Promise<LexiconInfo>;
  remove(word: string): Promise<LexiconInfo>;
}

function view(entries: readonly LexiconEntry[], notice: string | null): LexiconInfo {
  return {
    entries: entries.map((e) => ({ word: e.word, phonemes: entryPhonemes(e), ...(e.respelling !== undefined ? { respelling: e.respelling } : {}) })),
    notice,
  };
}

const notFound = (word: string): LexiconEntryError => new LexiconEntryError(`lexicon: "${word}" is not in the lexicon`);

/** A lexicon held in memory only. */
export function memoryLexicon(initial: readonly LexiconEntry[] = []): LexiconStore {
  let entries = [...initial];
  let compiled: UserLexicon | undefined;
  return {
    info: async () => view(entries, null),
    async compiled() {
      if (entries.length === 0) return undefined;
      compiled ??= compileLexicon(entries);
      return compiled;
    },
    async add(word, pronunciation) {
      entries = withEntry(entries, makeEntry(word, pronunciation));
      compiled = undefined;
      return view(entries, null);
    },
    async remove(word) {
      const left = withoutWord(entries, word);
      if (!left) throw notFound(word);
      entries = left;
      compiled = undefined;
      return view(entries, null);
    },
  };
}

/** The lexicon in `file`. A notice from reading it goes to `onNotice` once per distinct notice (stderr by default). */
export function fileLexicon(file: string, onNotice: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): LexiconStore {
  let cache: { text: string; compiled: UserLexicon | undefined } | null = null;
  let lastNotice: string | null = null;
  // Changes one at a time, so two quick adds cannot each write over the other's.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  const read = async () => {
    const result = await readLexiconFile(file);
    if (result.notice && result.notice !== lastNotice) onNotice(result.notice);
    lastNotice = result.notice;
    return result;
  };
  return {
    async info() {
      const { entries, notice } = await read();
      return view(entries, notice);
    },
    async compiled() {
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text !== null && cache?.text === text) return cache.compiled;
      const { entries } = await read();
      const compiled = entries.length > 0 ? compileLexicon(entries) : undefined;
      if (text !== null) cache = { text, compiled };
      return compiled;
    },
    add: (word, pronunciation) =>
      serial(async () => {
        const entry = makeEntry(word, pronunciation);
        const { entries } = await readLexiconFile(file, { strict: true });
        const next = withEntry(entries, entry);
        await writeLexiconFile(file, next);
        return view(next, null);
      }),
    remove: (word) =>
      serial(async () => {
        const { entries } = await readLexiconFile(file, { strict: true });
        const left = withoutWord(entries, word);
        if (!left) throw notFound(word);
        await writeLexiconFile(file, left);
        return view(left, null);
      }),
  };
}
