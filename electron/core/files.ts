/**
 * Atomic file writes: a temporary file beside the target, renamed over it only when complete.
 *
 * Every temporary file that exists is listed in `pendingTempFiles`, so that a process told to stop
 * at once (a second Ctrl-C, a SIGTERM while the first is still being honoured) can remove them all
 * synchronously before it exits: no signal leaves a `.partial` file behind.
 */
import { existsSync, rmSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpearError } from './errors.ts';

/** A hidden temporary name in the target's folder (same filesystem, so the rename is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.partial`);
}

/** Temporary files that exist right now (created, not yet renamed or removed). */
export const pendingTempFiles = new Set<string>();

/** Removes every pending temporary file, synchronously (for a process about to exit). */
export function removePendingTempFilesSync(): void {
  for (const file of pendingTempFiles) {
    try {
      rmSync(file, { force: true });
    } catch {
      // NOTE: nothing else can be done on the way out; the file name says what it is.
    }
    pendingTempFiles.delete(file);
  }
}

/**
 * A file could not be read or written. The message names the user's path (never a temporary file's)
 * and says in words what went wrong; `badPath` is true when the path itself is the problem (a missing
 * or read-only folder, a folder given as a file), false for a failure of the disk (full, I/O error).
 */
export class FileAccessError extends SpearError {
  constructor(
    readonly userPath: string,
    readonly code: string | undefined,
    detail: string,
    readonly badPath: boolean,
  ) {
    super(`${userPath}: ${detail}`);
  }
}

/** What an errno code means to someone who typed a path, and whether the path is to blame. */
const FS_CODES: Record<string, { detail: (verb: string, dir: string) => string; badPath: boolean }> = {
  ENOENT: {
    detail: (verb, dir) =>
      existsSync(dir)
        ? `cannot ${verb}: ${verb.startsWith('read') ? 'no such file' : `the folder ${dir} does not accept new files`}`
        : `cannot ${verb}: the folder ${dir} does not exist`,
    badPath: true,
  },
  ENOTDIR: { detail: (verb) => `cannot ${verb}: a part of the path is a file, not a folder`, badPath: true },
  EISDIR: { detail: (verb) => `cannot ${verb}: it is a folder, not a file`, badPath: true },
  EACCES: { detail: (verb) => `cannot ${verb}: permission denied`, badPath: true },
  EPERM: { detail: (verb) => `cannot ${verb}: the operation is not permitted there`, badPath: true },
  EROFS: { detail: (verb, dir) => `cannot ${verb}: ${dir} is on a read-only file system`, badPath: true },
  EEXIST: { detail: (verb) => `cannot ${verb}: a file of that name is in the way`, badPath: true },
  EINVAL: { detail: (verb, dir) => `cannot ${verb}: ${dir} does not accept such a file`, badPath: true },
  ENAMETOOLONG: { detail: (verb) => `cannot ${verb}: the name is too long`, badPath: true },
  ELOOP: { detail: (verb) => `cannot ${verb}: the path loops through symbolic links`, badPath: true },
  EXDEV: { detail: (verb) => `cannot ${verb}: the temporary file and the target are on different file systems`, badPath: true },
  ENOSPC: { detail: (verb) => `cannot ${verb}: the disk is full`, badPath: false },
  EDQUOT: { detail: (verb) => `cannot ${verb}: the disk quota is used up`, badPath: false },
  EFBIG: { detail: (verb) => `cannot ${verb}: the file is larger than this file system allows`, badPath: false },
  EIO: { detail: (verb) => `cannot ${verb}: input/output error on the disk`, badPath: false },
  EMFILE: { detail: (verb) => `cannot ${verb}: too many open files`, badPath: false },
};

/**
 * A Node file-system error as one line about the user's path. `verb` says what was being done
 * ("write it", "read it"). A FileAccessError passes through unchanged; an error without an errno
 * code is returned as is.
 */
export function fileError(userPath: string, error: unknown, verb = 'write it'): unknown {
  if (error instanceof SpearError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return error;
  const dir = path.dirname(path.resolve(userPath));
  const known = FS_CODES[code];
  if (known) return new FileAccessError(userPath, code, known.detail(verb, dir), known.badPath);
  return new FileAccessError(userPath, code, `cannot ${verb} (${code})`, false);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(target);
  pendingTempFiles.add(temp);
  try {
    await writeFile(temp, data, { flush: true });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fileError(target, error);
  } finally {
    pendingTempFiles.delete(temp);
  }
}
