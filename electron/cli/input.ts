/**
 * Reading the user's text: UTF-8 text, or a document (Markdown, HTML, EPUB, PDF) read into text by
 * electron/core/import; never raw binary, with messages that say which.
 */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';
import { fileError } from '../core/files.ts';
import { documentFormatOf, importDocument } from '../core/import/index.ts';

export { InputError };

/** Largest text file the CLI reads (the pipeline streams; this guards against a wrong file). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * The text of a document: a .md, .html, .epub or .pdf file (or standard input that starts like a
 * PDF, an EPUB or an HTML page) through its importer, anything else as UTF-8 text (readTextFile).
 */
export async function readDocument(file: string): Promise<string> {
  const bytes = file === '-' ? await readStdin() : await readBytes(file);
  const name = file === '-' ? 'standard input' : file;
  const format = documentFormatOf(file === '-' ? '' : file, bytes);
  if (format === null || format === 'text') return decodeText(bytes, name);
  return (await importDocument(bytes, name, format)).text;
}

/** `file` "-" reads standard input to its end, with the same size limit and checks as a file. */
export async function readTextFile(file: string): Promise<string> {
  if (file === '-') return decodeText(await readStdin(), 'standard input');
  return decodeText(await readBytes(file), file);
}

async function readBytes(file: string): Promise<Uint8Array> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw fileError(file, error, 'read it');
  });
  if (!info) throw new InputError(`${file}: no such file`);
  if (!info.isFile()) throw new InputError(`${file}: not a regular file`);
  if (info.size > MAX_INPUT_BYTES) throw new InputError(`${file}: ${info.size} bytes is more than the ${MAX_INPUT_BYTES / 1024 / 1024} MiB a text may have`);
  return readFile(file).catch((error: unknown) => {
    throw fileError(file, error, 'read it');
  });
}

export function decodeText(bytes: Uint8Array, name: string): string {
  if (bytes.includes(0)) throw new InputError(`${name}: looks like a binary file (it holds NUL bytes); give a UTF-8 text file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new InputError(`${name}: is not valid UTF-8 text; convert it first (e.g. iconv -f latin1 -t utf-8)`);
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_INPUT_BYTES) throw new InputError(`standard input: more than the ${MAX_INPUT_BYTES / 1024 / 1024} MiB a text may have`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
