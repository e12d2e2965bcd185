/**
 * The studio's settings: defaults, validation, and a JSON file that survives restarts. A file that is
 * missing or unreadable gives the defaults (and says so once on stderr); a bad field is dropped, not
 * the whole file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StudioSettings } from '../ipc-contract.ts';
import { settingsPatchSchema } from './schemas.ts';

export const DEFAULT_SETTINGS: StudioSettings = {
  provider: 'cpu',
  // 1: the engine's measurement (docs/engine.md) — small graphs run fastest single-threaded.
  threads: 1,
  // The shipped voice's fastest lossless strategy on the bench texts (docs/results.md#decoding-speed); early exit is slower than ar.
  defaultStrategy: 'eagle',
  defaultGamma: 3,
  // This machine's calibration, where there is one, beats the fixed defaults above.
  useCalibration: true,
};

export interface SettingsStore {
  get(): StudioSettings;
  /** Validates, merges, persists; returns the new settings. */
  update(patch: Partial<StudioSettings>): Promise<StudioSettings>;
}

/** Settings kept only in memory (tests, or a host with nowhere to write). */
export function memorySettings(initial: Partial<StudioSettings> = {}): SettingsStore {
  let current: StudioSettings = { ...DEFAULT_SETTINGS, ...settingsPatchSchema.parse(initial) };
  return {
    get: () => current,
    async update(patch) {
      current = { ...current, ...settingsPatchSchema.parse(patch) };
      return current;
    },
  };
}

/**
 * A settings file's fields as this version names them: the same today ("prophet", once the EAGLE
 * drafter's strategy, is the seed prophet's).
 */
export function upgradeSettings(raw: Record<string, unknown>): Record<string, unknown> {
  return raw;
}

/** Settings in a JSON file (written atomically: a temp file, then a rename). */
export async function fileSettings(file: string): Promise<SettingsStore> {
  let current: StudioSettings = { ...DEFAULT_SETTINGS };
  try {
    const raw = upgradeSettings(JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>);
    for (const [key, value] of Object.entries(raw)) {
      const parsed = settingsPatchSchema.safeParse({ [key]: value });
      if (parsed.success) current = { ...current, ...parsed.data };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      process.stderr.write(`settings: ${file} is unreadable (${(error as Error).message}); using the defaults\n`);
    }
  }
  return {
    get: () => current,
    async update(patch) {
      current = { ...current, ...settingsPatchSchema.parse(patch) };
      await mkdir(path.dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(current, null, 2));
      await rename(temp, file);
      return current;
    },
  };
}
