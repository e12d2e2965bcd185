/**
 * Subtitles with a cue per word, from the pipeline's word timings: WebVTT (W3C) or SubRip (.srt).
 * A cue's text is the word as written; cues never overlap (a cue ends where the next one starts at
 * the latest) and each lasts at least one millisecond.
 */
import path from 'node:path';
import { SpearError } from '../errors.ts';
import type { WordTiming } from './word-timing.ts';

export const SUBTITLE_FORMATS = ['vtt', 'srt'] as const;
export type SubtitleFormat = (typeof SUBTITLE_FORMATS)[number];

/** A subtitle file name whose extension is neither .vtt nor .srt. */
export class SubtitlePathError extends SpearError {}

export function subtitleFormatOf(file: string): SubtitleFormat {
  const ext = path.extname(file).slice(1).toLowerCase();
  if ((SUBTITLE_FORMATS as readonly string[]).includes(ext)) return ext as SubtitleFormat;
  throw new SubtitlePathError(`${file}: unknown subtitle extension "${path.extname(file) || '(none)'}"; use .vtt or .srt`);
}

/** Seconds → "hh:mm:ss.mmm" (WebVTT) or "hh:mm:ss,mmm" (SubRip). */
export function timestamp(seconds: number, separator: '.' | ','): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** Cue times in whole milliseconds, in order, never overlapping, never empty. */
function cueTimes(words: readonly WordTiming[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < words.length; i++) {
    const start = Math.max(Math.round(words[i].startSeconds * 1000), i > 0 ? out[i - 1][1] : 0);
    const nextStart = i + 1 < words.length ? Math.round(words[i + 1].startSeconds * 1000) : Infinity;
    const end = Math.max(start + 1, Math.min(Math.round(words[i].endSeconds * 1000), Math.max(nextStart, start + 1)));
    out.push([start, end]);
  }
  return out;
}

/** The cue text: one line, with what would end or break a cue made harmless. */
function cueText(text: string, format: SubtitleFormat): string {
  const line = text.replace(/\s+/g, ' ');
  return format === 'vtt' ? line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/-->/g, '--&gt;') : line;
}

export function formatSubtitles(words: readonly WordTiming[], format: SubtitleFormat): string {
  const separator = format === 'vtt' ? '.' : ',';
  const cues = cueTimes(words).map(([start, end], i) => {
    const times = `${timestamp(start / 1000, separator)} --> ${timestamp(end / 1000, separator)}`;
    return format === 'vtt' ? `${times}\n${cueText(words[i].text, format)}` : `${i + 1}\n${times}\n${cueText(words[i].text, format)}`;
  });
  return (format === 'vtt' ? ['WEBVTT', ...cues] : cues).join('\n\n') + '\n';
}
