/**
 * Teacher audio: Festival (HTS voice cmu_us_slt_arctic_hts) reads each sentence's normalised text;
 * sox converts its 32 kHz output to mono 16-bit PCM WAV at each requested rate (16 kHz by default),
 * so clips at two rates come from one and the same 32 kHz render.
 *
 * Resumable: a sentence whose <id>.wav exists is skipped. Each file is written under a temporary
 * name and renamed when complete, so an existing <id>.wav is always a whole file.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SpearError } from '../../../electron/core/errors.ts';

const run = promisify(execFile);

export interface RenderJob {
  readonly id: string;
  readonly text: string;
}

export interface RenderOutput {
  /** Directory of <id>.wav files. */
  readonly wavDir: string;
  /** Sample rate of its files in Hz. Default 16000 (the units and the 16 kHz speaker). */
  readonly sampleRate?: number;
}

export interface RenderOptions extends RenderOutput {
  /** More copies of each clip from the same render, e.g. 24 kHz audio for a 24 kHz speaker. Default none. */
  readonly also?: readonly RenderOutput[];
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

export class RenderError extends SpearError {
  override name = 'RenderError';
}

/** Sentences per Festival process: loading the HTS voice costs more than reading one sentence
 * (measured here: 0.34 s of CPU for one sentence per process, ~0.13 s per sentence in fours). */
const BATCH = 16;

/** A Scheme string literal. */
const schemeString = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

const wavPath = (output: RenderOutput, job: RenderJob): string => join(output.wavDir, `${job.id}.wav`);

async function renderBatch(batch: readonly RenderJob[], outputs: readonly RenderOutput[], voice: string): Promise<void> {
  const base = join(outputs[0].wavDir, `.tmp-${batch[0].id}-${process.pid}`);
  const scriptPath = `${base}.scm`;
  const raw = batch.map((_, i) => `${base}.${i}.raw.wav`);
  const out = batch.map((_, i) => `${base}.${i}.wav`);
  try {
    const lines = batch.map((job, i) => `(utt.save.wave (utt.synth (Utterance Text ${schemeString(job.text)})) ${schemeString(raw[i])} 'riff)`);
    writeFileSync(scriptPath, `(${voice})\n${lines.join('\n')}\n`);
    await run('festival', ['--batch', scriptPath]);
    for (let i = 0; i < batch.length; i++) {
      for (const output of outputs) {
        const rate = String(output.sampleRate ?? 16000);
        await run('sox', [raw[i], '-r', rate, '-c', '1', '-b', '16', '-e', 'signed-integer', out[i]]);
        renameSync(out[i], wavPath(output, batch[i]));
      }
    }
  } finally {
    for (const path of [scriptPath, ...raw, ...out]) rmSync(path, { force: true });
  }
}

/** Render every job whose WAV is missing at some output, in order, with `workers` parallel workers. */
export async function renderAll(jobs: readonly RenderJob[], options: RenderOptions): Promise<RenderProgress> {
  const workers = options.workers ?? 2;
  const voice = options.voice ?? 'voice_cmu_us_slt_arctic_hts';
  const outputs: readonly RenderOutput[] = [options, ...(options.also ?? [])];
  for (const output of outputs) {
    const rate = output.sampleRate ?? 16000;
    if (!Number.isInteger(rate) || rate < 8000 || rate > 32000)
      throw new RenderError(`render: sample rate ${rate} Hz is outside 8000-32000 (Festival renders at 32 kHz)`);
    mkdirSync(output.wavDir, { recursive: true });
  }
  const pending = jobs.filter((job) => outputs.some((output) => !existsSync(wavPath(output, job))));
  const skipped = jobs.length - pending.length;
  const started = Date.now();
  let done = 0;
  let failed = 0;
  let next = 0;
  const progress = (): RenderProgress => ({
    done: skipped + done,
    total: jobs.length,
    skipped,
    failed,
    elapsedSeconds: (Date.now() - started) / 1000,
  });
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const batch = pending.slice(next, next + BATCH);
      next += batch.length;
      try {
        await renderBatch(batch, outputs, voice);
        done += batch.length;
      } catch (error) {
        failed += batch.length;
        console.error(`render: ${batch[0].id} (+${batch.length - 1}) failed: ${(error as Error).message.split('\n')[0]}`);
      }
      options.onProgress?.(progress());
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return progress();
}
