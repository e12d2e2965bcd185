/** What the document view accepts from a drop or a file picker. */
import type { LIMITS } from '../../../electron/ipc-contract.ts';

/** Bytes of a text file the studio reads (the contract's LIMITS.fileBytes; the type keeps them equal). */
export const MAX_FILE_BYTES: (typeof LIMITS)['fileBytes'] = 1_048_576;
export const MAX_DOCUMENT_CHARS: (typeof LIMITS)['documentChars'] = 1_000_000;

const TEXT_EXTENSIONS = ['.txt', '.md', '.markdown', '.text'];

export interface FileLike {
  name: string;
  size: number;
  type: string;
}

/** Why a file cannot be read as a document, or null when it can be read. */
export function fileProblem(file: FileLike): string | null {
  const lower = file.name.toLowerCase();
  const textual = TEXT_EXTENSIONS.some((ext) => lower.endsWith(ext)) || file.type.startsWith('text/');
  if (!textual) return `“${file.name}” is not a text file. Drop a .txt or .md file, or paste the text.`;
  if (file.size > MAX_FILE_BYTES) {
    return `“${file.name}” is ${(file.size / 1_048_576).toFixed(1)} MB; the studio reads text files up to 1 MB. Split it into parts.`;
  }
  return null;
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
