/** Atomic file writes: a temporary file beside the target, renamed over it only when complete. */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A hidden temporary name in the target's folder (same filesystem, so the rename is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.partial`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(target);
  try {
    await writeFile(temp, data, { flush: true });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
