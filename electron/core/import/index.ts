/**
 * Documents in: plain text, Markdown, HTML, EPUB and PDF, as the text the pipeline reads, with
 * headings, sections and chapter breaks as blank lines (paragraph pauses). The format comes from the
 * file name's extension, else from the bytes (a PDF or ZIP signature, an HTML tag).
 */
import path from 'node:path';
import { InputError } from '../errors.ts';

export const DOCUMENT_FORMATS = ['text', 'markdown', 'html', 'epub', 'pdf'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

const EXTENSIONS: Record<string, DocumentFormat> = {
  txt: 'text',
  text: 'text',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  epub: 'epub',
  pdf: 'pdf',
};

/** The extensions importDocument reads, for file pickers and messages. */
export const DOCUMENT_EXTENSIONS = Object.keys(EXTENSIONS);

export interface ImportedDocument {
  text: string;
  format: DocumentFormat;
  /** The book's or page's title, where the file names one (EPUB). */
  title?: string;
}

/** A document that could not be read (damaged, encrypted, no text layer); the message names the file. */
export class DocumentImportError extends InputError {}

/** The format of a file by its extension, else by its first bytes; null for anything else. */
export function documentFormatOf(name: string, bytes?: Uint8Array): DocumentFormat | null {
  const byName = EXTENSIONS[path.extname(name).slice(1).toLowerCase()];
  if (byName) return byName;
  if (!bytes) return null;
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 512));
  if (head.startsWith('%PDF-')) return 'pdf';
  if (head.startsWith('PK\u0003\u0004') && head.includes('application/epub+zip')) return 'epub';
  if (/^\s*(?:<!doctype html|<html[\s>])/i.test(head)) return 'html';
  return null;
}

function utf8(bytes: Uint8Array, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new DocumentImportError(`${name}: is not valid UTF-8 text; convert it first (e.g. iconv -f latin1 -t utf-8)`);
  }
}

/**
 * Reads a document's text. `name` is the file's name (for its extension and for messages); plain text
 * passes through unchanged. The libraries load on first use: plain text costs none of them.
 */
export async function importDocument(
  bytes: Uint8Array,
  name: string,
  format: DocumentFormat | null = documentFormatOf(name, bytes),
): Promise<ImportedDocument> {
  const kind = format ?? 'text';
  try {
    switch (kind) {
      case 'text':
        return { text: utf8(bytes, name), format: kind };
      case 'markdown':
        return { text: (await import('./markdown.ts')).markdownToText(utf8(bytes, name)), format: kind };
      case 'html':
        return { text: (await import('./html.ts')).htmlToText(utf8(bytes, name), { xml: /\.xhtml$/i.test(name) }), format: kind };
      case 'epub':
        return { ...(await (await import('./epub.ts')).epubToText(bytes)), format: kind };
      case 'pdf':
        return { text: await (await import('./pdf.ts')).pdfToText(bytes), format: kind };
    }
  } catch (error) {
    if (error instanceof DocumentImportError) throw error;
    const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new DocumentImportError(`${name}: cannot be read as ${kind === 'epub' ? 'an EPUB' : `a ${kind.toUpperCase()}`} file (${detail})`);
  }
}
