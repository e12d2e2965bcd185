/** Reading the user's text: UTF-8 only, never binary, with messages that say which. */
import { readFile, stat } from 'node:fs/promises';
import { SpearError } from '../engine/errors.ts';

export class InputError extends SpearError {}

/** Largest text file the CLI reads (the pipeline streams; this guards against a wrong file). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

export async function readTextFile(file: string): Promise<string> {
  const info = await stat(file).catch(() => null);
  if (!info) throw new InputError(`${file}: no such file`);
  if (!info.isFile()) throw new InputError(`${file}: not a regular file`);
  if (info.size > MAX_INPUT_BYTES) throw new InputError(`${file}: ${info.size} bytes is more than the ${MAX_INPUT_BYTES / 1024 / 1024} MiB a text may have`);
  const bytes = await readFile(file);
  return decodeText(bytes, file);
}

export function decodeText(bytes: Uint8Array, name: string): string {
  if (bytes.includes(0)) throw new InputError(`${name}: looks like a binary file (it holds NUL bytes); give a UTF-8 text file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new InputError(`${name}: is not valid UTF-8 text; convert it first (e.g. iconv -f latin1 -t utf-8)`);
  }
}
