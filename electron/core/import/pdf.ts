/**
 * PDF → text from its text layer (pdf.js through unpdf; a scanned PDF without one has no text). Lines
 * come from pdf.js's text items; a paragraph ends where the gap to the next line is clearly larger
 * than the document's usual line spacing, or where the type size changes (a heading); a word hyphenated
 * at a line's end is joined again; pages run on (a sentence may cross a page break).
 */
import { getDocumentProxy } from 'unpdf';

interface Line {
  text: string;
  /** Baseline height on the page, PDF units (upwards). */
  y: number;
  /** Type size, PDF units. */
  size: number;
}

interface TextItemLike {
  str: string;
  hasEOL?: boolean;
  transform?: number[];
  height?: number;
}

/** A gap this many times the page's usual line spacing ends a paragraph. */
const PARAGRAPH_GAP = 1.4;

function linesOf(items: TextItemLike[]): Line[] {
  const lines: Line[] = [];
  let current: Line | null = null;
  for (const item of items) {
    if (typeof item.str !== 'string') continue;
    const y = item.transform?.[5] ?? 0;
    const size = Math.abs(item.transform?.[3] ?? item.height ?? 0) || item.height || 0;
    if (current && Math.abs(current.y - y) > Math.max(1, current.size * 0.5) && current.text.trim() !== '') {
      lines.push(current);
      current = null;
    }
    if (!current) current = { text: '', y, size };
    current.text += item.str;
    current.size = Math.max(current.size, size);
    if (item.hasEOL) {
      lines.push(current);
      current = null;
    }
  }
  if (current) lines.push(current);
  return lines.filter((l) => l.text.trim() !== '');
}

/** The document's usual line spacing: the lower quartile of the gaps between consecutive lines. */
function usualSpacing(pages: Line[][]): number {
  const gaps = pages.flatMap((lines) => lines.slice(1).map((l, i) => lines[i].y - l.y)).filter((g) => g > 0);
  if (gaps.length === 0) return 0;
  return [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 4)];
}

/** One page's lines → paragraphs (each a list of lines). */
function pageParagraphs(lines: Line[], usual: number): string[][] {
  const paragraphs: string[][] = [];
  let current: string[] = [];
  lines.forEach((line, i) => {
    const previous = lines[i - 1];
    if (previous) {
      const gap = previous.y - line.y;
      const sizeChange = Math.abs(previous.size - line.size) > 0.15 * Math.max(previous.size, line.size);
      if (sizeChange || gap <= 0 || (usual > 0 && gap > PARAGRAPH_GAP * usual)) {
        paragraphs.push(current);
        current = [];
      }
    }
    current.push(line.text.trim());
  });
  if (current.length) paragraphs.push(current);
  return paragraphs;
}

/** Lines of a paragraph as one string: "exam-" + "ple" → "example"; otherwise a space between. */
function joinLines(lines: string[]): string {
  let out = '';
  for (const line of lines) {
    if (out === '') out = line;
    else if (/\p{Ll}-$/u.test(out) && /^\p{Ll}/u.test(line)) out = out.slice(0, -1) + line;
    else out += ` ${line}`;
  }
  return out;
}

export async function pdfToText(bytes: Uint8Array): Promise<string> {
  // pdf.js takes ownership of the buffer it is given: hand it a copy.
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  try {
    const pages: Line[][] = [];
    for (let p = 1; p <= pdf.numPages; p++) {
      const page = await pdf.getPage(p);
      pages.push(linesOf((await page.getTextContent()).items as TextItemLike[]));
      page.cleanup();
    }
    const usual = usualSpacing(pages);
    const paragraphs: string[][] = [];
    for (const lines of pages) {
      const found = pageParagraphs(lines, usual);
      // A page that starts mid-sentence continues the last paragraph of the page before.
      if (found.length && paragraphs.length) {
        const last = paragraphs[paragraphs.length - 1];
        if (!/[.!?:…"'”’)]$/.test(last[last.length - 1]) && /^\p{Ll}/u.test(found[0][0])) {
          last.push(...found.shift()!);
        }
      }
      paragraphs.push(...found);
    }
    return paragraphs
      .map(joinLines)
      .filter((p) => p !== '')
      .join('\n\n');
  } finally {
    await pdf.destroy();
  }
}
