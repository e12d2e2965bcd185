/**
 * Everyday English prose from Debian packages whose licenses allow it (docs/text-and-corpus.md lists each
 * source and its license). The technical sources of gather.ts (package descriptions, man pages, READMEs,
 * info manuals) teach the reader a register people rarely ask a desktop voice to read; these add the
 * sentences of ordinary writing:
 *   - fortunes-min: /usr/share/games/fortunes/{fortunes,literature,riddles} (BSD), "%"-separated entries,
 *     attributions ("-- Mark Twain") dropped;
 *   - wordnet-base: the example sentences in WordNet's glosses (WordNet 3.0 license), the quoted parts
 *     after "|" in data.{noun,verb,adj,adv};
 *   - dict-gcide: the literary quotations of GCIDE, Webster's 1913 (GPL-2+), the indented blocks that end
 *     in an attribution line ("--Shak.").
 * Each reader takes its file or folder as a parameter, so the tests run them on small made-up files; a
 * package that is not installed yields nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Paragraph } from './gather.ts';

const FORTUNE_FILES = ['fortunes', 'literature', 'riddles'] as const;
const WORDNET_FILES = ['data.noun', 'data.verb', 'data.adj', 'data.adv'] as const;

/** Fortune entries as paragraphs: one per "%"-separated entry, attribution lines and verse layouts dropped. */
export function fortuneParagraphs(dir = '/usr/share/games/fortunes'): Paragraph[] {
  const out: Paragraph[] = [];
  for (const name of FORTUNE_FILES) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    for (const entry of readFileSync(file, 'utf8').split(/^%$/m)) {
      const lines = entry.split('\n').filter((l) => l.trim() !== '');
      // An attribution is an indented "-- Name" line; everything from the first one on is credit, not prose.
      const end = lines.findIndex((l) => /^\s+--/.test(l));
      const body = end < 0 ? lines : lines.slice(0, end);
      // Indented lines mark verse, dialogues and ASCII layouts: not sentences a reader would meet.
      if (body.length === 0 || body.some((l) => /^\s/.test(l) && !/^\t?[A-Z"]/.test(l.trimStart()))) continue;
      if (body.some((l) => /^\s{2,}\S/.test(l) || /^\w+:\s/.test(l))) continue;
      out.push({ source: `fortune:${name}`, text: body.map((l) => l.trim()).join(' ') });
    }
  }
  return out;
}

/** The quoted example sentences of WordNet's glosses, each made a sentence (capital, final stop). */
export function wordnetExamples(dir = '/usr/share/wordnet'): Paragraph[] {
  const out: Paragraph[] = [];
  for (const name of WORDNET_FILES) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.startsWith('  ')) continue; // the license header
      const gloss = line.slice(line.indexOf('| ') + 2);
      if (!line.includes('| ')) continue;
      for (const match of gloss.matchAll(/"([^"]+)"/g)) {
        let text = match[1].trim();
        if (text.split(/\s+/).length < 4) continue;
        text = text[0].toUpperCase() + text.slice(1);
        if (!/[.!?]$/.test(text)) text += '.';
        out.push({ source: `wordnet:${name.slice(5)}`, text });
      }
    }
  }
  return out;
}

/**
 * GCIDE's quotations: a block of deeply indented lines directly followed by an attribution line
 * ("--Shak.", "--Dryden."). The dictionary is dictzip-compressed, which gunzip reads.
 */
export function gcideQuotations(file = '/usr/share/dictd/gcide.dict.dz'): Paragraph[] {
  if (!existsSync(file)) return [];
  const bytes = readFileSync(file);
  const text = (file.endsWith('.dz') || file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const out: Paragraph[] = [];
  let block: string[] = [];
  for (const line of text.split('\n')) {
    const attribution = /^\s{6,}--\s*([A-Z][^\n]*)$/.exec(line);
    if (attribution) {
      if (block.length > 0) {
        const quote = block.join(' ').replace(/\s+/g, ' ').trim();
        // Webster's markup ([1913 Webster], \Ab*do"men\) and bracketed notes mark a definition, not a quotation.
        if (!/[[\]\\{}]/.test(quote)) out.push({ source: 'gcide:quotation', text: quote });
      }
      block = [];
    } else if (/^\s{8,}\S/.test(line)) block.push(line.trim());
    else block = [];
  }
  return out;
}

/** All three sources; empty where a package is missing. */
export function everydayParagraphs(): Paragraph[] {
  return [...fortuneParagraphs(), ...wordnetExamples(), ...gcideQuotations()];
}
