/**
 * Gather English prose paragraphs from text already on this machine:
 *   - long package descriptions in /var/lib/dpkg/status;
 *   - man pages in /usr/share/man/man{1,5,7,8} (English only; roff stripped by roff.ts);
 *   - README files under /usr/share/doc (plain text, markdown, gzipped);
 *   - GNU info manuals in /usr/share/info.
 * Changelogs were tried and left out: they are terse bullet items ("Fix FTBFS (Closes: #123)").
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { manPageParagraphs } from './roff.ts';

export interface Paragraph {
  /** Where it came from, e.g. "man:ls.1", "dpkg:coreutils", "doc:bash/README". */
  readonly source: string;
  readonly text: string;
}

function readMaybeGzip(path: string): string {
  const bytes = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

function listFiles(dir: string, match: (name: string) => boolean, depth = 4): string[] {
  if (!existsSync(dir) || depth < 0) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, match, depth - 1));
    else if (entry.isFile() && match(entry.name)) out.push(path);
  }
  return out.sort();
}

/** Long descriptions of installed packages; " ." separates paragraphs, lines with 2+ leading spaces are verbatim. */
export function dpkgParagraphs(statusPath = '/var/lib/dpkg/status'): Paragraph[] {
  if (!existsSync(statusPath)) return [];
  const out: Paragraph[] = [];
  for (const stanza of readFileSync(statusPath, 'utf8').split(/\n\n+/)) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1] ?? 'unknown';
    const match = /^Description: .*\n((?: .*\n?)*)/m.exec(stanza);
    if (!match) continue;
    let current: string[] = [];
    const flush = (): void => {
      if (current.length > 0) out.push({ source: `dpkg:${name}`, text: current.join(' ') });
      current = [];
    };
    for (const line of match[1].split('\n')) {
      if (line === ' .' || line.trim() === '') flush();
      else if (line.startsWith('  '))
        flush(); // verbatim (lists, code)
      else current.push(line.trim());
    }
    flush();
  }
  return out;
}

export function manParagraphs(root = '/usr/share/man'): Paragraph[] {
  const out: Paragraph[] = [];
  for (const section of ['man1', 'man5', 'man7', 'man8']) {
    for (const path of listFiles(join(root, section), (n) => /\.\d\w*(?:\.gz)?$/.test(n), 0)) {
      let source: string;
      try {
        source = readMaybeGzip(path);
      } catch {
        continue; // NOTE: a few man "pages" are dangling symlinks or .so redirects; skip them.
      }
      if (/^\.(?:Dd|Dt)\b/m.test(source) || /^\.so /m.test(source)) continue; // mdoc or a redirect
      const name = path.slice(path.lastIndexOf('/') + 1).replace(/\.gz$/, '');
      for (const text of manPageParagraphs(source)) out.push({ source: `man:${name}`, text });
    }
  }
  return out;
}

/** Markdown/plain-text paragraphs: blank-line separated; code fences, indented code, tables and headings dropped. */
export function plainTextParagraphs(text: string): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let inFence = false;
  const flush = (): void => {
    if (current.length > 0) out.push(current.join(' '));
    current = [];
  };
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      flush();
      continue;
    }
    if (inFence) continue;
    if (line.trim() === '' || /^(?: {4}|\t)/.test(line) || /^\s*[#=|+*-]{1,}\s*\S*\s*[#=|+*-]*\s*$/.test(line) || /^\s*#/.test(line) || line.includes('|')) {
      flush();
      continue;
    }
    current.push(line.trim().replace(/^[-*+]\s+/, ''));
  }
  flush();
  return out;
}

export function readmeParagraphs(root = '/usr/share/doc'): Paragraph[] {
  const out: Paragraph[] = [];
  for (const path of listFiles(root, (n) => /^(?:README|NEWS)(?:\.(?:md|txt|rst|Debian))?(?:\.gz)?$/i.test(n))) {
    if (statSync(path).size > 2_000_000) continue;
    let text: string;
    try {
      text = readMaybeGzip(path);
    } catch {
      continue;
    }
    const source = `doc:${path.slice(root.length + 1)}`;
    for (const paragraph of plainTextParagraphs(text)) out.push({ source, text: paragraph });
  }
  return out;
}

export function infoParagraphs(root = '/usr/share/info'): Paragraph[] {
  const out: Paragraph[] = [];
  for (const path of listFiles(root, (n) => /\.info(?:-\d+)?(?:\.gz)?$/.test(n), 0)) {
    let text: string;
    try {
      text = readMaybeGzip(path);
    } catch {
      continue;
    }
    // Info nodes start after a \x1f line; menus start with "* ".
    const cleaned = text.replace(/\x1f\n?File:[^\n]*\n/g, '\n\n').replace(/^\*.*$/gm, '');
    const source = `info:${path.slice(root.length + 1)}`;
    for (const paragraph of plainTextParagraphs(cleaned)) out.push({ source, text: paragraph });
  }
  return out;
}

export function gatherParagraphs(): Paragraph[] {
  return [...dpkgParagraphs(), ...manParagraphs(), ...readmeParagraphs(), ...infoParagraphs()];
}
