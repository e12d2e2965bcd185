/** Command-line parsing helpers: strict flags, typed values, one-line usage errors (exit code 2). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MAX_DRAFTS } from '../core/engine/decode.ts';
import { autoWorkers } from '../core/engine/pool.ts';
import type { TreeSpec } from '../core/engine/tree.ts';
import { SpearError } from '../core/errors.ts';

export class UsageError extends SpearError {}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, command: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${command}: ${message}; see 'spear ${command} --help'`);
  }
}

export function int(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max)
    throw new UsageError(`--${flag} ${value}: expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}`);
  return n;
}

/** `--workers`: decoder workers, an integer from 1 to 16, or 'auto' (one per core, at most 4: engine/pool.ts). */
export function workersArg(value: string | undefined, flag: string): number | undefined {
  if (value?.trim() === 'auto') return autoWorkers();
  try {
    return int(value, flag, 1, 16);
  } catch {
    throw new UsageError(`--${flag} ${value}: expected an integer from 1 to 16, or auto`);
  }
}

/** `--gamma`: an integer from 1 to `max`, or 'auto' (adaptive gamma). */
export function gammaArg(value: string | undefined, flag: string, max = 16): number | 'auto' | undefined {
  if (value?.trim() === 'auto') return 'auto';
  try {
    return int(value, flag, 1, max);
  } catch {
    throw new UsageError(`--${flag} ${value}: expected an integer from 1 to ${max}, or auto`);
  }
}

/** `--draft-confidence` and `--max-gamma`, which only adaptive gamma reads. */
export function adaptiveArgs(
  gamma: string | undefined,
  confidence: string | undefined,
  maxGamma: string | undefined,
): { draftConfidence?: number; maxGamma?: number } {
  const draftConfidence = num(confidence, 'draft-confidence', (n) => n > 0 && n < 1, 'a number in (0, 1)');
  const max = int(maxGamma, 'max-gamma', 1, 16);
  const auto = gamma === undefined || gamma.split(',').some((g) => g.trim() === 'auto');
  if (!auto && (draftConfidence !== undefined || max !== undefined)) {
    throw new UsageError(`--${draftConfidence !== undefined ? 'draft-confidence' : 'max-gamma'} applies only with --gamma auto`);
  }
  return { ...(draftConfidence !== undefined ? { draftConfidence } : {}), ...(max !== undefined ? { maxGamma: max } : {}) };
}

/** `--drafts`: K, drafts per row and step, 1 to MAX_DRAFTS. */
export function draftsArg(value: string | undefined, flag: string): number | undefined {
  return int(value, flag, 1, MAX_DRAFTS);
}

/**
 * K > 1 samples K drafts and verifies them together: refused, in one line, with 'ar' (it drafts nothing)
 * and at temperature 0 (greedy drafts are all the same draft). `strategies`: those the command runs.
 */
export function checkDrafts(drafts: number | readonly number[] | undefined, strategies: readonly string[], temperature: number | undefined): void {
  const most = Math.max(1, ...(typeof drafts === 'number' ? [drafts] : (drafts ?? [])));
  if (most === 1) return;
  if (strategies.length > 0 && strategies.every((s) => s === 'ar')) throw new UsageError(`--drafts ${most}: 'ar' drafts nothing; choose a drafting --strategy`);
  if (temperature === 0) throw new UsageError(`--drafts ${most}: at temperature 0 every draft is the same greedy draft; sample with --temperature above 0`);
}

export function num(value: string | undefined, flag: string, check: (n: number) => boolean, allowed: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${flag} ${value}: expected ${allowed}`);
  return n;
}

/**
 * Strategy names a script may still pass, with the strategy's name now: refused like any unknown name,
 * with the new name in the message. None today: `prophet`, once the EAGLE drafter's name, is the seed
 * prophet's strategy.
 */
export const RENAMED_STRATEGIES: Readonly<Record<string, string>> = {};

/** `value` when it is one of `allowed`; otherwise a UsageError listing them, and the new name of a value in `renamed`. */
export function oneOf<T extends string>(
  value: string | undefined,
  flag: string,
  allowed: readonly T[],
  renamed: Readonly<Record<string, string>> = {},
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    const hint = Object.hasOwn(renamed, value) ? ` (${value} is now called ${renamed[value]})` : '';
    throw new UsageError(`--${flag} ${value}: expected one of ${allowed.join(', ')}${hint}`);
  }
  return value as T;
}

export function list<T>(value: string | undefined, flag: string, item: (s: string) => T): T[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--${flag} ${value}: expected a comma-separated list`);
  return parts.map(item);
}

/** An argument as a POSIX shell needs it written, so that a report can quote the command that made it. */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * `--tree` (one) or `--trees` (several, separated by '/'): candidates per depth ("2,1") or nodes as rank
 * paths in JSON ("[[0],[1],[0,0]]"). Only the form is checked here; decode checks the tree against the voice.
 */
export function treeArg(value: string, flag: string): TreeSpec {
  let spec: unknown = null;
  if (!value.trim().startsWith('[')) spec = value.split(',').map((k) => Number(k.trim()));
  else {
    try {
      spec = JSON.parse(value);
    } catch {
      spec = null;
    }
  }
  const ints = (xs: unknown): boolean => Array.isArray(xs) && xs.length > 0 && xs.every((x) => Number.isInteger(x));
  if (!ints(spec) && !(Array.isArray(spec) && spec.length > 0 && spec.every(ints))) {
    throw new UsageError(`--${flag} ${value}: candidates per depth (e.g. 2,1) or nodes as rank paths in JSON (e.g. [[0],[1],[0,0]])`);
  }
  return spec as TreeSpec;
}
