/**
 * `spear lexicon`: the user's own pronunciations, kept in lexicon.json in the config folder (the same
 * file the studio edits), and how `spear synth` loads them.
 */
import { configDir } from '../core/config-dir.ts';
import { InputError } from '../core/errors.ts';
import { lexiconPath, readLexiconFile, writeLexiconFile } from '../core/text/lexicon-file.ts';
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
import { parse, UsageError } from './args.ts';

/** The user's lexicon file: lexicon.json in the config folder (SPEAR_CONFIG_DIR overrides the folder). */
export const userLexiconPath = (): string => lexiconPath(configDir());

export const LEXICON_HELP = `Usage: spear lexicon list
       spear lexicon add WORD PRONUNCIATION
       spear lexicon remove WORD
       spear lexicon path

Your own pronunciations, used by 'spear synth' and the studio: a word (any case, accents ignored)
and either ARPAbet phonemes as in the CMU dictionary, a stress digit on each vowel, or a respelling
in ordinary letters that the voice reads as one word:

  spear lexicon add Siobhan SH IH0 V AO1 N
  spear lexicon add Nguyen win

A pronunciation in capitals (or with stress digits) is read as phonemes, anything else as a
respelling; --phonemes or --respelling says which. Kept in ${userLexiconPath()}
(SPEAR_CONFIG_DIR sets the folder).

Options:
      --lexicon FILE   use this lexicon file instead
      --phonemes       read the pronunciation as ARPAbet phonemes
      --respelling     read the pronunciation as a respelling
  -h, --help           this help
`;

const OPTIONS = {
  lexicon: { type: 'string' },
  phonemes: { type: 'boolean' },
  respelling: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** "W IH1 N", or "W IH1 N (respelled "win")". */
export function describeEntry(entry: LexiconEntry): string {
  const phones = entryPhonemes(entry).join(' ');
  return entry.respelling === undefined ? phones : `${phones} (respelled "${entry.respelling}")`;
}

export async function lexiconCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, OPTIONS, 'lexicon');
  const [verb, ...rest] = positionals;
  if (v.help || !verb) {
    process.stdout.write(LEXICON_HELP);
    return v.help ? 0 : 2;
  }
  if (v.phonemes && v.respelling) throw new UsageError('lexicon: give --phonemes or --respelling, not both');
  const file = v.lexicon ?? userLexiconPath();
  switch (verb) {
    case 'path':
      process.stdout.write(`${file}\n`);
      return 0;
    case 'list': {
      if (rest.length > 0) throw new UsageError('lexicon list: takes no words');
      // Strict: a damaged file is reported, never listed as empty.
      const { entries, exists } = await readLexiconFile(file, { strict: true });
      if (entries.length === 0) {
        process.stderr.write(
          `lexicon: ${exists ? `${file} has no entries` : `no lexicon yet (${file})`}; add one with 'spear lexicon add WORD PRONUNCIATION'\n`,
        );
        return 0;
      }
      const width = Math.max(...entries.map((e) => e.word.length));
      for (const entry of entries) process.stdout.write(`${entry.word.padEnd(width)}  ${describeEntry(entry)}\n`);
      return 0;
    }
    case 'add': {
      const [word, ...pronunciation] = rest;
      if (!word || pronunciation.length === 0) throw new UsageError('lexicon add: give a WORD and its PRONUNCIATION (phonemes or a respelling)');
      const entry = makeEntry(word, pronunciation.join(' '), v.phonemes ? 'phonemes' : v.respelling ? 'respelling' : undefined);
      // Strict: a damaged file is not overwritten (its entries would be lost).
      const { entries } = await readLexiconFile(file, { strict: true });
      await writeLexiconFile(file, withEntry(entries, entry));
      process.stderr.write(`lexicon: ${entry.word} → ${describeEntry(entry)}; saved in ${file}\n`);
      return 0;
    }
    case 'remove': {
      if (rest.length !== 1) throw new UsageError('lexicon remove: give one WORD');
      const { entries } = await readLexiconFile(file, { strict: true });
      const left = withoutWord(entries, rest[0]);
      if (!left) throw new LexiconEntryError(`lexicon: "${rest[0]}" is not in ${file}`);
      await writeLexiconFile(file, left);
      process.stderr.write(`lexicon: removed ${rest[0]} from ${file}\n`);
      return 0;
    }
    default:
      throw new UsageError(`lexicon: unknown action "${verb}"; actions: list, add, remove, path`);
  }
}

/**
 * The lexicon `spear synth` reads with: the file given (refused if missing or damaged: the user named
 * it), else the user's file (none is fine; a damaged one is ignored, and `onNotice` gets one line).
 */
export async function loadSynthLexicon(file: string | undefined, onNotice: (line: string) => void): Promise<UserLexicon | undefined> {
  if (file !== undefined) {
    const read = await readLexiconFile(file, { strict: true });
    if (!read.exists) throw new InputError(`--lexicon ${file}: no such file`);
    return compileLexicon(read.entries);
  }
  const read = await readLexiconFile(userLexiconPath());
  if (read.notice) onNotice(read.notice);
  return read.entries.length > 0 ? compileLexicon(read.entries) : undefined;
}
