/** Formatting for the UI: one place, tested (tests/renderer/format.spec.ts). */
import type { ReadingCheckResult } from '../../../electron/ipc-contract.ts';

/** 0.734 → "73%"; NaN or undefined → "–". */
export function formatPercent(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return `${(value * 100).toFixed(digits)}%`;
}

/** A plain number with a fixed count of decimals, "–" when not finite. */
export function formatNumber(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

/** 2.134 → "2.13×". */
export function formatSpeedup(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value) || value <= 0) return '–';
  return `${value.toFixed(2)}×`;
}

/** Seconds → "m:ss.t" (or "h:mm:ss" past an hour). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '0:00.0';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(Math.floor(s)).padStart(2, '0')}`;
  return `${m}:${s.toFixed(1).padStart(4, '0')}`;
}

/** Bytes → "812 B", "14.2 kB", "2.3 MB" (decimal units, like file managers). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** "1 sentence", "3 sentences". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Strategy as the UI names it. */
export function strategyLabel(strategy: string): string {
  const labels: Record<string, string> = {
    ar: 'autoregressive (ar)',
    draft: 'draft model',
    'early-exit': 'early exit',
    eagle: 'EAGLE',
    'layer-skip': 'layer skip',
    medusa: 'Medusa',
    prophet: 'seed prophet',
  };
  return labels[strategy] ?? strategy;
}

/** Provider as the UI names it. */
export function providerLabel(provider: string): string {
  return ({ cpu: 'CPU', webgpu: 'WebGPU', cuda: 'CUDA' } as Record<string, string>)[provider] ?? provider;
}

/** What the reading check did with a sentence it sent back: which reading is spoken, of how many. */
export function rereadingVerdict(check: ReadingCheckResult): string {
  if (check.rereadings === 0) return 'first reading passed';
  const of = `${check.rereadings} ${check.rereadings === 1 ? 're-reading' : 're-readings'}`;
  return check.chosen === 0 ? `first reading kept over ${of}` : `re-reading ${check.chosen} of ${check.rereadings} spoken`;
}

/**
 * An error as the person at the studio should read it: its message in words, without Electron's
 * "Error invoking remote method 'spear:…':" wrapper or a class name such as "NothingToSayError:".
 */
export function errorText(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error);
  text = text.replace(/^Error invoking remote method '[^']*':\s*/, '');
  // One or more leading class names ("Error: ", "InvalidRequestError: ").
  text = text.replace(/^(?:[A-Z][A-Za-z]*Error:\s*)+/, '');
  return text.trim() === '' ? 'something went wrong (no details were given)' : text;
}
