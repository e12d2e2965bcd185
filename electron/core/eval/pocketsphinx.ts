/** The intelligibility judge: pocketsphinx_continuous (Debian's pocketsphinx + pocketsphinx-en-us). */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { SpearError } from '../errors.ts';

const run = promisify(execFile);

export class RecognizerError extends SpearError {}

/**
 * pocketsphinx's options for audio at `sampleRate`: none at 16 kHz (its model's rate); otherwise the rate and
 * an FFT that holds its 25.6 ms window. NOTE: without them it reads 24 kHz audio as 16 kHz and hears nothing.
 */
export function rateOptions(sampleRate: number): string[] {
  if (sampleRate === 16000) return [];
  let nfft = 512;
  while (nfft < 0.025625 * sampleRate) nfft *= 2;
  return ['-samprate', String(sampleRate), '-nfft', String(nfft)];
}

/** The sample rate in a canonical WAV header (bytes 24-27), as encodeWav writes it. */
async function wavRate(wavPath: string): Promise<number> {
  const file = await open(wavPath, 'r');
  try {
    const header = Buffer.alloc(28);
    await file.read(header, 0, 28, 0);
    return header.readUInt32LE(24);
  } finally {
    await file.close();
  }
}

/** Transcribes a mono 16-bit WAV file (16 kHz, or another rate its header names). */
export async function transcribe(wavPath: string): Promise<string> {
  const rate = await wavRate(wavPath).catch((error: unknown) => {
    throw new RecognizerError(`${wavPath}: cannot read its WAV header: ${(error as Error).message}`);
  });
  try {
    const args = ['-infile', wavPath, '-logfn', '/dev/null', ...rateOptions(rate)];
    const { stdout } = await run('pocketsphinx_continuous', args, { maxBuffer: 1 << 24 });
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
