/**
 * The audio formats the studio and the CLI write: their file extensions, how many bytes a second of
 * mono speech takes in each, and the most a file of each format can hold.
 */
import { SpearError } from '../errors.ts';
import { MP3_KBPS, OPUS_KBPS } from './encoders.ts';

/** The audio will not fit, or did not fit, what its format can hold (a WAV file's 4 GiB). */
export class AudioTooLongError extends SpearError {}

export const AUDIO_FORMATS = ['wav', 'mp3', 'flac', 'opus'] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

/** File extensions, and the format each one means (.ogg and .oga: Ogg Opus). */
export const AUDIO_EXTENSIONS: Readonly<Record<string, AudioFormat>> = { wav: 'wav', mp3: 'mp3', flac: 'flac', opus: 'opus', ogg: 'opus', oga: 'opus' };

/** What the user reads about a format. */
export const FORMAT_NAMES: Readonly<Record<AudioFormat, string>> = { wav: 'WAV', mp3: 'MP3', flac: 'FLAC', opus: 'Ogg Opus' };

/** A WAV file's RIFF header counts its bytes in 32 bits: 4 GiB - 1 in all, the 36 other header bytes included. */
export const WAV_MAX_DATA_BYTES = 4_294_967_259; // 2 ** 32 - 1 - 36

/**
 * FLAC's size over 16-bit PCM's on the shipped voice's speech: 0.45 (the 24 bench sentences, 110.8 s,
 * `spear synth --file bench.txt -o bench.flac`, level 5). Speech with more silence compresses better.
 */
export const FLAC_RATIO = 0.45;

/** Estimated bytes of `seconds` of mono 16-bit audio at `sampleRate` in `format` (headers included; renderer/src/lib/estimate.ts has the same rule). */
export function estimateBytes(format: AudioFormat, seconds: number, sampleRate: number): number {
  const pcm = seconds * sampleRate * 2;
  switch (format) {
    case 'wav':
      return 44 + pcm;
    case 'flac':
      return 8192 + pcm * FLAC_RATIO;
    case 'mp3':
      return (seconds * MP3_KBPS * 1000) / 8;
    case 'opus':
      // Ogg pages add ~0.7 % at a page a second; the headers ~100 bytes.
      return 200 + ((seconds * OPUS_KBPS * 1000) / 8) * 1.007;
  }
}

/** The most bytes of 16-bit samples a file of `format` can hold (Infinity: no limit that speech reaches). */
export function maxSampleBytes(format: AudioFormat): number {
  // FLAC counts samples in 36 bits (over 49 days at 16 kHz), Ogg pages in 64: no practical limit.
  return format === 'wav' ? WAV_MAX_DATA_BYTES : Infinity;
}

/** "45 h", "12 min", "38 s": a duration as an estimate is said. */
export function roughDuration(seconds: number): string {
  if (seconds >= 5400) return `${(seconds / 3600).toFixed(seconds >= 36_000 ? 0 : 1)} h`;
  if (seconds >= 90) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds)} s`;
}

/** "5.2 GB", "23 MB", "812 kB" (decimal units, as file managers show them). */
export function roughBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

/**
 * Refuses, before any decoding, a job whose estimated audio cannot fit its file format: one line that
 * says how much audio, how large, the limit, and which formats hold it.
 */
export function assertFits(file: string, format: AudioFormat, seconds: number, sampleRate: number): void {
  if (seconds * sampleRate * 2 <= maxSampleBytes(format)) return;
  throw new AudioTooLongError(
    `${file}: the text makes about ${roughDuration(seconds)} of audio (~${roughBytes(estimateBytes(format, seconds, sampleRate))} as ${FORMAT_NAMES[format]}), ` +
      `more than the 4 GiB a ${FORMAT_NAMES[format]} file can hold; write .flac, .opus or .mp3 instead, or split the text`,
  );
}
