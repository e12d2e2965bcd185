/**
 * Every error the project throws is typed and extends one base, SpearError (electron/core/errors.ts), so
 * the CLI, the service and the studio can print one line in words for any of them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|tsx)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** `class A extends B` declarations: [class, base, file]. */
function errorClasses(): [string, string, string][] {
  const found: [string, string, string][] = [];
  for (const file of ['electron', 'renderer/src', 'native-models/tools'].flatMap(sources)) {
    for (const m of readFileSync(path.join(ROOT, file), 'utf8').matchAll(/class\s+(\w+)\s+extends\s+([\w.]+)/g)) found.push([m[1], m[2], file]);
  }
  return found;
}

test('every error class descends from SpearError, and only SpearError extends Error', () => {
  const classes = errorClasses();
  const base = new Map(classes.map(([name, parent]) => [name, parent]));
  const rootOf = (name: string): string => {
    const seen = new Set<string>();
    let current = name;
    while (current !== 'SpearError' && base.has(current) && !seen.has(current)) {
      seen.add(current);
      current = base.get(current)!;
    }
    return current;
  };
  const errors = classes.filter(([name, parent]) => /Error$/.test(name) || /Error$/.test(parent));
  assert.ok(errors.length > 10, `found ${errors.length} error classes: the scan reads the sources`);
  const stray = errors.filter(([name]) => rootOf(name) !== 'SpearError');
  assert.equal(base.get('SpearError'), 'Error');
  assert.deepEqual(
    stray.map(([name, parent, file]) => `${file}: ${name} extends ${parent}`),
    [],
  );
  assert.deepEqual(
    errors.filter(([name, parent]) => parent === 'Error' && name !== 'SpearError').map(([name, , file]) => `${file}: ${name}`),
    [],
  );
});
