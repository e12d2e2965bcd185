/**
 * The documents' rules (STYLE.md, "Documents"), checked on the tracked files:
 * - no file names a numbered development round: history lives in git, not in the project;
 * - the README is a front door: at most 150 lines, none over 300 characters;
 * - every relative link in README.md and docs/*.md points at a file that exists;
 * - the README names every Debian package that .ci/run installs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A numbered development round, such as a session or a round followed by its number. A bench's
 * "rounds" of one run are counted, not numbered, and do not match.
 */
const DEVELOPMENT_ROUND = /\bsessions?[ _-]?\d+|\bround[ _-]?\d+(?![.,]?\d)/i;

/** Files the project tracks, from git; the working tree's own files when it is not a git checkout. */
function trackedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 })
      .split('\0')
      .filter(Boolean);
  } catch {
    return readdirSync(ROOT, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
      .filter((f) => !f.split(path.sep).some((part) => part === 'node_modules' || part === '.git' || part === 'work' || part === 'dist'));
  }
}

/** A file's text, or null for a binary file (a NUL byte in its first 8 KiB) or one that is gone. */
function textOf(file: string): string | null {
  const full = path.join(ROOT, file);
  if (!existsSync(full)) return null;
  const bytes = readFileSync(full);
  if (bytes.subarray(0, 8192).includes(0)) return null;
  return bytes.toString('utf8');
}

/** Every line of `text` that names a development round, as "file:line: text". */
function roundsIn(file: string, text: string): string[] {
  const hits: string[] = [];
  if (DEVELOPMENT_ROUND.test(file)) hits.push(`${file}: the file name`);
  text.split('\n').forEach((line, i) => {
    const m = DEVELOPMENT_ROUND.exec(line);
    if (m) hits.push(`${file}:${i + 1}: …${line.slice(Math.max(0, m.index - 60), m.index + 60).trim()}…`);
  });
  return hits;
}

/** The relative link targets of a Markdown text, without their anchors. */
function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  // Inline links and images: [text](target) and ![alt](target), with an optional "title".
  for (const m of markdown.matchAll(/!?\[[^\]]*\]\(\s*(?:<([^>]*)>|([^)\s]+))(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1] ?? m[2];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // a URL or an anchor in this file
    targets.push(decodeURI(target.split('#')[0]));
  }
  return targets;
}

/** The packages of .ci/run's `DEBIAN_PACKAGES=( … )` array. */
function debianPackages(script: string): string[] {
  const m = /^\s*DEBIAN_PACKAGES=\(([^)]*)\)/m.exec(script);
  assert.ok(m, '.ci/run has no DEBIAN_PACKAGES=( … ) array');
  return m[1]
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(' ')
    .split(/\s+/)
    .map((word) => word.replace(/^['"]|['"]$/g, ''))
    .filter(Boolean);
}

test('the rules catch what they are for', () => {
  assert.equal(roundsIn('x.md', `what ${'Sess'}ion 12 measured`).length, 1);
  assert.equal(roundsIn('x.md', `${'sess'}ions 2–4`).length, 1);
  assert.equal(roundsIn('x.md', `the ${'sess'}ion-5 voice`).length, 1);
  assert.equal(roundsIn('x.md', `${'rou'}nd 3 of the retraining`).length, 1);
  assert.equal(roundsIn('x.md', `in ${'rou'}nd 2, then`).length, 1);
  assert.equal(roundsIn(`notes-${'sess'}ion7.md`, '').length, 1);
  assert.deepEqual(roundsIn('x.md', `rounds of one run differ by 10 %; the rounds 1.85–1.99; a session run; ${'rou'}nd 1.5 up`), []);
  assert.deepEqual(relativeLinks('[a](docs/a.md#x) ![b](b.png "t") [c](https://x.org/y) [d](#here) [e](<f g.md>)'), ['docs/a.md', 'b.png', 'f g.md']);
  assert.deepEqual(debianPackages('X=1\nDEBIAN_PACKAGES=(a b  # why\n  "c")\n'), ['a', 'b', 'c']);
});

test('no tracked file names a numbered development round (history lives in git)', () => {
  const hits = trackedFiles().flatMap((file) => {
    const text = textOf(file);
    return text === null ? (DEVELOPMENT_ROUND.test(file) ? [`${file}: the file name`] : []) : roundsIn(file, text);
  });
  assert.deepEqual(hits, [], `numbered development rounds:\n${hits.join('\n')}`);
});

test('the README is at most 150 lines, none over 300 characters', () => {
  const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\n$/, '').split('\n');
  assert.ok(lines.length <= 150, `README.md has ${lines.length} lines`);
  const long = lines.map((line, i) => ({ n: i + 1, length: [...line].length })).filter((l) => l.length > 300);
  assert.deepEqual(long, [], `README.md lines over 300 characters: ${long.map((l) => `${l.n} (${l.length})`).join(', ')}`);
});

test('every relative link in README.md and docs/*.md points at a file that exists', () => {
  const documents = [
    'README.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const broken = documents.flatMap((doc) =>
    relativeLinks(readFileSync(path.join(ROOT, doc), 'utf8'))
      .filter((target) => target !== '' && !existsSync(path.resolve(ROOT, path.dirname(doc), target)))
      .map((target) => `${doc} → ${target}`),
  );
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('the README names every Debian package that .ci/run installs', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const packages = debianPackages(readFileSync(path.join(ROOT, '.ci/run'), 'utf8'));
  assert.ok(packages.length > 0, '.ci/run lists no Debian packages');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const missing = packages.filter((pkg) => !new RegExp(`(?<![\\w.+-])${escape(pkg)}(?![\\w.+-])`).test(readme));
  assert.deepEqual(missing, [], `README.md does not name: ${missing.join(', ')}`);
});
