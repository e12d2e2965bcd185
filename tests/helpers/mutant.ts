/**
 * Mutants of the engine's own modules, for tests that must show they can fail: a copy of a source file
 * with one planted change (the text to replace must occur exactly once, so a refactor that moves it
 * fails the test instead of silently testing the original), its relative imports pointing at the real
 * modules, or at other mutants. The copy is imported from a scratch folder, removed afterwards.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Mutation {
  /** Source text to replace; it must occur exactly once in the file. */
  from: string;
  to: string;
}

export interface MutantOptions {
  /** The planted changes. */
  mutations?: readonly Mutation[];
  /** Relative import specifiers (as written in the file, e.g. './verify.ts') to load from these files instead. */
  redirect?: Readonly<Record<string, string>>;
}

let counter = 0;

/** Writes the mutant of `file` (an absolute .ts path) into a scratch folder and returns its path. */
export function writeMutant(file: string, options: MutantOptions, dir: string): string {
  let source = readFileSync(file, 'utf8');
  for (const { from, to } of options.mutations ?? []) {
    const count = source.split(from).length - 1;
    if (count !== 1) throw new Error(`mutant of ${path.basename(file)}: ${JSON.stringify(from)} occurs ${count} times, not once`);
    source = source.replace(from, () => to);
  }
  const redirect = options.redirect ?? {};
  for (const specifier of Object.keys(redirect)) {
    if (!source.includes(`'${specifier}'`)) throw new Error(`mutant of ${path.basename(file)}: it does not import ${specifier}`);
  }
  // Every relative import now names an absolute file: the real module beside `file`, or a redirect.
  source = source.replace(/from '(\.{1,2}\/[^']+)'/g, (_, specifier: string) => {
    const target = redirect[specifier] ?? path.resolve(path.dirname(file), specifier);
    return `from '${pathToFileURL(target).href}'`;
  });
  const out = path.join(dir, `${path.basename(file, '.ts')}.mutant-${counter++}.ts`);
  writeFileSync(out, source);
  return out;
}

/** Imports a mutant of `file`; `extra` mutants are written first and may be named in `options.redirect` by key. */
export async function importMutant<T>(
  file: string,
  options: MutantOptions,
  extra: Readonly<Record<string, { file: string } & MutantOptions>> = {},
): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'spear-mutant-'));
  try {
    const written: Record<string, string> = {};
    for (const [key, spec] of Object.entries(extra)) written[key] = writeMutant(spec.file, spec, dir);
    const redirect = Object.fromEntries(Object.entries(options.redirect ?? {}).map(([specifier, target]) => [specifier, written[target] ?? target]));
    const top = writeMutant(file, { ...options, redirect }, dir);
    return (await import(pathToFileURL(top).href)) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
