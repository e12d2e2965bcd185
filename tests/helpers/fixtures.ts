/** The tiny random models the project's own export script makes (native-models/make_fixtures.py). */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, type LoadedModel } from '../../electron/core/engine/model.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.resolve(here, '../fixtures');
export const TINY = path.join(FIXTURES, 'tiny');
export const TINY_NOEXIT = path.join(FIXTURES, 'tiny-noexit');
/** TINY with its drafters' weights in int8 (native-models/spear_voice/t2s/quantize.py), as the shipped voice. */
export const TINY_INT8 = path.join(FIXTURES, 'tiny-int8');
export const TINY_VOICE = path.join(FIXTURES, 'tiny-voice');
/** TINY with its target graphs fused and their cache in the "bnsh" layout (native-models/spear_voice/t2s/fused.py). */
export const TINY_FUSED = path.join(FIXTURES, 'tiny-fused');
/**
 * TINY with its target graphs in 8-bit weights and GroupQueryAttention (native-models/spear_voice/t2s/fused.py --int8):
 * calls of at least 2 positions, one row per call.
 */
export const TINY_INT8_TARGET = path.join(FIXTURES, 'tiny-int8-target');
/** TINY with an exit head that recycles (native-models/spear_voice/t2s/recycle.py) and only full, trunk, rest (fused, sources beside) and exit_head. */
export const TINY_RECYCLE = path.join(FIXTURES, 'tiny-recycle');

const cache = new Map<string, Promise<LoadedModel>>();

/** Loads a fixture once per test process. */
export function fixture(dir: string): Promise<LoadedModel> {
  let m = cache.get(dir);
  if (!m) {
    m = loadModel(dir);
    cache.set(dir, m);
  }
  return m;
}

/** Runs `body` on a scratch copy of the fixture folder `src`, removed afterwards whatever happens. */
export async function withCopy<T>(src: string, body: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `spear-${path.basename(src)}-`));
  try {
    cpSync(src, dir, { recursive: true });
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-random prompts of the given lengths (bos, body, sep), avoiding the stop token. */
export function makePrompts(lengths: readonly number[], vocabSize: number, seed = 1): number[][] {
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  return lengths.map((n) => {
    const body = Array.from({ length: Math.max(0, n - 2) }, () => 4 + (next() % (vocabSize - 4)));
    return [1, ...body, 2].slice(0, n);
  });
}
