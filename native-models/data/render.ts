/**
 * Teacher audio: Festival (HTS voice cmu_us_slt_arctic_hts) reads each sentence's normalised text;
 * sox converts its 32 kHz output to 16 kHz mono 16-bit PCM WAV.
 *
 * Resumable: a sentence whose <id>.wav exists is skipped. Each file is written under a temporary
 * name and renamed when complete, so an existing <id>.wav is always a whole file.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RenderJob {
  readonly id: string;
  readonly text: string;
}

export interface RenderOptions {
  /** Directory of <id>.wav files. */
  readonly wavDir: string;
  /** Parallel Festival processes. Default 2 (one per core on the corpus machine). */
  readonly workers?: number;
  /** Festival voice. Default "voice_cmu_us_slt_arctic_hts". */
  readonly voice?: string;
  /** Called after each file with (done, total, skipped). */
  readonly onProgress?: (progress: RenderProgress) => void;
}

export interface RenderProgress {
  readonly done: number;
  readonly total: number;
  readonly skipped: number;
  readonly failed: number;
  readonly elapsedSeconds: number;
}

export class RenderError extends Error {
  override name = 'RenderError';
}

async function renderOne(job: RenderJob, wavDir: string, voice: string): Promise<void> {
  const base = join(wavDir, `.tmp-${job.id}-${process.pid}`);
  const textPath = `${base}.txt`;
  const rawPath = `${base}.raw.wav`;
  const outPath = `${base}.wav`;
  try {
    writeFileSync(textPath, `${job.text}\n`);
    await run('text2wave', ['-eval', `(${voice})`, textPath, '-o', rawPath]);
    await run('sox', [rawPath, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', outPath]);
    renameSync(outPath, join(wavDir, `${job.id}.wav`));
  } finally {
    for (const path of [textPath, rawPath, outPath]) rmSync(path, { force: true });
  }
}

/** Render every job whose WAV is missing, in order, with `workers` parallel workers. */
export async function renderAll(jobs: readonly RenderJob[], options: RenderOptions): Promise<RenderProgress> {
  const workers = options.workers ?? 2;
  const voice = options.voice ?? 'voice_cmu_us_slt_arctic_hts';
  mkdirSync(options.wavDir, { recursive: true });
  const pending = jobs.filter((job) => !existsSync(join(options.wavDir, `${job.id}.wav`)));
  const skipped = jobs.length - pending.length;
  const started = Date.now();
  let done = 0;
  let failed = 0;
  let next = 0;
  const progress = (): RenderProgress => ({
    done: skipped + done, total: jobs.length, skipped, failed, elapsedSeconds: (Date.now() - started) / 1000,
  });
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const job = pending[next++];
      try {
        await renderOne(job, options.wavDir, voice);
        done++;
      } catch (error) {
        failed++;
        console.error(`render: ${job.id} failed: ${(error as Error).message.split('\n')[0]}`);
      }
      options.onProgress?.(progress());
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return progress();
}
