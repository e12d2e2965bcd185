/** What the document view accepts from a drop or a file picker. */
import type { LIMITS } from '../../../electron/ipc-contract.ts';

/** Bytes of a text file the studio reads (the contract's LIMITS.fileBytes; the type keeps them equal). */
export const MAX_FILE_BYTES: (typeof LIMITS)['fileBytes'] = 1_048_576;
/** Bytes of a document the service reads into text (LIMITS.importBytes). */
export const MAX_IMPORT_BYTES: (typeof LIMITS)['importBytes'] = 5_242_880;
export const MAX_DOCUMENT_CHARS: (typeof LIMITS)['documentChars'] = 1_000_000;

const TEXT_EXTENSIONS = ['.txt', '.text'];
/** Read into text by the service (electron/core/import): markup, books and PDFs. */
const DOCUMENT_EXTENSIONS = ['.md', '.markdown', '.html', '.htm', '.xhtml', '.epub', '.pdf'];
const DOCUMENT_TYPES = ['text/markdown', 'text/html', 'application/xhtml+xml', 'application/epub+zip', 'application/pdf'];

/** What the accept attribute of the studio's file picker lists. */
export const ACCEPTED_FILES = [...TEXT_EXTENSIONS, ...DOCUMENT_EXTENSIONS, 'text/plain', ...DOCUMENT_TYPES].join(',');

/** How a file is read: as UTF-8 text here, or as a document by the service. */
export function fileKind(file: FileLike): 'text' | 'document' | null {
  const lower = file.name.toLowerCase();
  if (DOCUMENT_EXTENSIONS.some((ext) => lower.endsWith(ext)) || DOCUMENT_TYPES.includes(file.type)) return 'document';
  if (TEXT_EXTENSIONS.some((ext) => lower.endsWith(ext)) || file.type.startsWith('text/')) return 'text';
  return null;
}

export interface FileLike {
  name: string;
  size: number;
  type: string;
}

/** Why a file cannot be read as a document, or null when it can be read. */
export function fileProblem(file: FileLike): string | null {
  const kind = fileKind(file);
  if (!kind) return `“${file.name}” is not a text file or a document the studio reads. Drop a .txt, .md, .html, .epub or .pdf file, or paste the text.`;
  const limit = kind === 'text' ? MAX_FILE_BYTES : MAX_IMPORT_BYTES;
  if (file.size > limit) {
    return `“${file.name}” is ${(file.size / 1_048_576).toFixed(1)} MB; the studio reads ${kind === 'text' ? 'text files' : 'documents'} up to ${limit / 1_048_576} MB (the command line reads any size: spear synth --file).`;
  }
  return null;
}

/** Bytes as base64, in chunks (a whole book at once would overflow String.fromCharCode's arguments). */
export function toBase64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = '';
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Decodes a file's bytes as UTF-8 text, or explains why they are not text. */
export function decodeText(name: string, bytes: ArrayBuffer): { text: string } | { problem: string } {
  const view = new Uint8Array(bytes);
  if (view.includes(0)) return { problem: `“${name}” holds binary data (NUL bytes), not text.` };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(view).replace(/^\uFEFF/, '');
    if (text.length > MAX_DOCUMENT_CHARS) return { problem: `“${name}” holds more than ${MAX_DOCUMENT_CHARS.toLocaleString('en')} characters.` };
    return { text };
  } catch {
    return { problem: `“${name}” is not UTF-8 text. Save it as UTF-8 and drop it again.` };
  }
}
