/** The intelligibility judge: pocketsphinx_continuous (Debian's pocketsphinx + pocketsphinx-en-us). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SpearError } from '../errors.ts';

const run = promisify(execFile);

export class RecognizerError extends SpearError {}

/** Transcribes a 16 kHz mono 16-bit WAV file. */
export async function transcribe(wavPath: string): Promise<string> {
  try {
    const { stdout } = await run('pocketsphinx_continuous', ['-infile', wavPath, '-logfn', '/dev/null'], { maxBuffer: 1 << 24 });
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RecognizerError('pocketsphinx_continuous is not installed (apt-get install pocketsphinx pocketsphinx-en-us)');
    throw new RecognizerError(`pocketsphinx failed on ${wavPath}: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
