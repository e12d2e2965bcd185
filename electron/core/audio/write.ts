/**
 * Audio files written atomically and as the audio comes: samples go to a temporary file beside the
 * target, which is renamed over the target only when `finish` succeeds. A failure or a cancel
 * (`abort`) removes the temporary file, so no partial output is ever left under the target's name.
 */
import { constants } from 'node:fs';
import { access, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, SpearError } from '../errors.ts';
import { floatToInt16, wavHeader } from './wav.ts';
import { fileError, pendingTempFiles, tempPathFor } from '../files.ts';
import { flacEncoder, mp3Encoder, opusEncoder, type StreamEncoder } from './encoders.ts';
import { AUDIO_EXTENSIONS, AUDIO_FORMATS, AudioTooLongError, FORMAT_NAMES, maxSampleBytes, roughBytes, type AudioFormat } from './formats.ts';

export { AUDIO_FORMATS, AudioTooLongError, type AudioFormat };

/** The output path cannot be written: missing folder, read-only folder, a directory, or an unknown extension. */
export class OutputPathError extends SpearError {
  constructor(
    readonly outputPath: string,
    detail: string,
  ) {
    super(`${outputPath}: ${detail}`);
  }
}

/** Format from a file name's extension. */
export function formatOf(file: string): AudioFormat {
  const ext = path.extname(file).slice(1).toLowerCase();
  const format = AUDIO_EXTENSIONS[ext];
  if (format) return format;
  throw new OutputPathError(
    file,
    `unknown audio extension "${path.extname(file) || '(none)'}"; use ${Object.keys(AUDIO_EXTENSIONS)
      .map((e) => `.${e}`)
      .join(', ')}`,
  );
}

/** WAV written as it comes: a header with the sizes left 0, filled in at the end. */
function wavEncoder(sampleRate: number): StreamEncoder {
  let dataBytes = 0;
  return {
    start: () => wavHeader(0, sampleRate),
    encode(pcm) {
      dataBytes += pcm.byteLength;
      return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    },
    finish: () => ({ tail: new Uint8Array(0), patch: { offset: 0, bytes: wavHeader(dataBytes, sampleRate) } }),
    release: () => undefined,
  };
}

async function openEncoder(format: AudioFormat, sampleRate: number): Promise<StreamEncoder> {
  switch (format) {
    case 'wav':
      return wavEncoder(sampleRate);
    case 'mp3':
      return mp3Encoder(sampleRate);
    case 'flac':
      return flacEncoder(sampleRate);
    case 'opus':
      return opusEncoder(sampleRate);
  }
}

/** Checks, before any work is done, that `file` can be created; throws OutputPathError saying why not. */
export async function assertWritable(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const info = await stat(dir).catch(() => null);
  if (!info) throw new OutputPathError(file, `folder ${dir} does not exist`);
  if (!info.isDirectory()) throw new OutputPathError(file, `${dir} is not a folder`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new OutputPathError(file, `folder ${dir} is not writable`);
  }
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw new OutputPathError(file, 'is a folder, not a file');
  // Permission bits do not tell everything (root, /proc, a read-only mount, a full quota): create the
  // temporary file the write would use, and remove it again.
  const probe = tempPathFor(file);
  pendingTempFiles.add(probe);
  try {
    await (await open(probe, 'wx')).close();
  } catch (error) {
    throw fileError(file, error, 'create it');
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
    pendingTempFiles.delete(probe);
  }
}

export interface WriterOptions {
  /** Most bytes of 16-bit samples the file may take; default: what the format can hold (formats.ts). */
  maxSampleBytes?: number;
}

export class AudioFileWriter {
  private handle: FileHandle | null = null;
  private readonly temp: string;
  /** Bytes in the file so far. */
  private fileBytes = 0;
  /** Bytes of 16-bit samples given so far (what a format's size limit counts). */
  private sampleBytes = 0;
  private encoder: StreamEncoder | null = null;
  private closed = false;
  /** Writes run one after another in call order; finish and abort wait for them. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly target: string,
    readonly format: AudioFormat,
    readonly sampleRate: number,
    private readonly maxSampleBytes: number,
  ) {
    this.temp = tempPathFor(target);
  }

  /** Opens a writer for `target` (format from its extension unless given). */
  static async create(target: string, sampleRate: number, format: AudioFormat = formatOf(target), options: WriterOptions = {}): Promise<AudioFileWriter> {
    await assertWritable(target);
    const writer = new AudioFileWriter(target, format, sampleRate, options.maxSampleBytes ?? maxSampleBytes(format));
    pendingTempFiles.add(writer.temp);
    try {
      writer.handle = await open(writer.temp, 'w');
      writer.encoder = await openEncoder(format, sampleRate);
      await writer.append(writer.encoder.start());
    } catch (error) {
      await writer.abort();
      throw fileError(target, error);
    }
    return writer;
  }

  /**
   * Queues samples behind earlier writes (callers need not await: a failed write surfaces from
   * `finish`). Encoding happens now, so the order of calls is the order in the file.
   */
  write(samples: Float32Array): Promise<void> {
    if (this.closed || !this.handle) {
      const late = Promise.reject(new Error('AudioFileWriter: write after finish/abort'));
      late.catch(() => undefined); // a caller that does not await (streaming) must not crash the process
      return late;
    }
    this.sampleBytes += samples.length * 2;
    let bytes: Uint8Array;
    try {
      if (this.sampleBytes > this.maxSampleBytes) {
        throw new AudioTooLongError(
          `${this.target}: the audio outgrew the ${roughBytes(this.maxSampleBytes)} a ${FORMAT_NAMES[this.format]} file can hold; nothing was written; write .flac, .opus or .mp3 instead`,
        );
      }
      bytes = this.encoder!.encode(floatToInt16(samples));
    } catch (error) {
      // Surfaces from finish, like a failed write; later writes are refused by the failed chain.
      const failed = this.queue.then(() => Promise.reject(error));
      this.queue = failed;
      failed.catch(() => undefined);
      return failed;
    }
    this.queue = this.queue.then(() => this.append(bytes));
    // Mark the chain handled; the error is rethrown by finish (or ignored by abort).
    this.queue.catch(() => undefined);
    return this.queue;
  }

  private async append(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await this.handle!.write(bytes, 0, bytes.length, this.fileBytes);
    this.fileBytes += bytes.length;
  }

  /** Completes the file and moves it into place. */
  async finish(): Promise<void> {
    if (!this.handle) throw new Error('AudioFileWriter: finish twice');
    try {
      await this.queue;
      const { tail, patch } = this.encoder!.finish();
      await this.append(tail);
      if (patch) await this.handle.write(patch.bytes, 0, patch.bytes.length, patch.offset);
      this.encoder!.release();
      await this.handle.sync();
      await this.handle.close();
      this.handle = null;
      await rename(this.temp, this.target);
      pendingTempFiles.delete(this.temp);
      this.closed = true;
    } catch (error) {
      await this.abort();
      throw fileError(this.target, error);
    }
  }

  /** Bytes written to the file so far. */
  get bytes(): number {
    return this.fileBytes;
  }

  /** Drops everything written; the target is untouched. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
    this.encoder?.release();
    await rm(this.temp, { force: true }).catch(() => undefined);
    pendingTempFiles.delete(this.temp);
  }
}

/** Writes one buffer of samples to `target` atomically. */
export async function writeAudioFile(
  target: string,
  samples: Float32Array,
  sampleRate: number,
  format: AudioFormat = formatOf(target),
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const writer = await AudioFileWriter.create(target, sampleRate, format);
  try {
    const chunk = sampleRate * 10;
    for (let i = 0; i < samples.length; i += chunk) {
      if (options.signal?.aborted) throw new CancelledError(`export to ${target}`);
      await writer.write(samples.subarray(i, i + chunk));
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
