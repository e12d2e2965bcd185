/**
 * The house's import rules, checked on the sources (STYLE.md, "The shape of the house"):
 * - the core (electron/core) imports neither electron, react nor the shell (app, service, server, cli);
 * - only electron/app imports electron;
 * - the renderer reaches the main process through electron/ipc-contract.ts, with `import type` only;
 * - the training tools in native-models (tools/, research/) import the core and nothing else of electron/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = /\.(ts|mts|tsx|mjs)$/;

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && SOURCE.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .filter((f) => !f.includes('node_modules') && !f.split(path.sep).includes('work'));
}

interface Import {
  file: string;
  spec: string;
  /** The repository path a relative specifier names, or null for a package. */
  target: string | null;
  typeOnly: boolean;
}

/** Static imports, re-exports and dynamic import() calls whose specifier is a literal. */
function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const re = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4];
    const target = spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : null;
    found.push({ file, spec, target, typeOnly: Boolean(m[2]) });
  }
  return found;
}

const allImports = (dir: string): Import[] => sources(dir).flatMap((f) => importsOf(f, readFileSync(path.join(ROOT, f), 'utf8')));
const describe = (i: Import): string => `${i.file} imports ${i.spec}`;
const inside = (target: string | null, dir: string): boolean => target !== null && (target + path.sep).startsWith(dir + path.sep);

test('the parser sees static, type-only, re-exported and dynamic imports', () => {
  const text = "import a from './a.ts';\nimport type { B } from '../b.ts';\nexport * from './c.ts';\nconst d = await import('electron');\nimport 'react';";
  const found = importsOf('electron/core/x.ts', text);
  assert.deepEqual(
    found.map((i) => [i.spec, i.typeOnly]),
    [
      ['./a.ts', false],
      ['../b.ts', true],
      ['./c.ts', false],
      ['electron', false],
      ['react', false],
    ],
  );
  assert.equal(found[1].target, path.normalize('electron/b.ts'));
});

test('the core imports neither electron, react nor the shell', () => {
  const bad = allImports('electron/core').filter(
    (i) => /^(electron|react|react-dom|zustand)(\/|$)/.test(i.spec) || (i.target !== null && !inside(i.target, path.normalize('electron/core'))),
  );
  assert.deepEqual(bad.map(describe), []);
});

test('only electron/app imports electron', () => {
  const bad = [...allImports('electron'), ...allImports('renderer')].filter(
    (i) => /^electron(\/|$)/.test(i.spec) && !inside(i.file, path.normalize('electron/app')),
  );
  assert.deepEqual(bad.map(describe), []);
  // and the shell's host really does, so the rule above is not vacuous
  assert.ok(allImports('electron/app').some((i) => i.spec === 'electron'));
});

test('the renderer knows the main process only through the IPC contract, as types', () => {
  const bad = allImports('renderer').filter((i) => inside(i.target, 'electron') && (i.target !== path.normalize('electron/ipc-contract.ts') || !i.typeOnly));
  assert.deepEqual(bad.map(describe), []);
});

test('the training tools import only the core of electron/', () => {
  const bad = allImports('native-models').filter((i) => inside(i.target, 'electron') && !inside(i.target, path.normalize('electron/core')));
  assert.deepEqual(bad.map(describe), []);
  // and the tools (native-models/tools) do use the core, so the rule above is not vacuous
  assert.ok(allImports('native-models/tools').some((i) => inside(i.target, path.normalize('electron/core'))));
});
