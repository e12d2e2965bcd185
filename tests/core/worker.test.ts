import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLE_KEEP_MS, bundledEntry, siblingUrl, startWorker } from '../../electron/core/worker.ts';

const ENTRY = siblingUrl('echo-worker', new URL('../helpers/echo-worker.ts', import.meta.url).href);

/** Starts the echo worker, sends it a message, and returns what it answers (then ends it). */
async function echo(options: { bundle?: boolean }): Promise<unknown> {
  const worker = startWorker(ENTRY, { greeting: 'hello' }, options);
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage(21);
    });
  } finally {
    await worker.terminate();
  }
}

test('a bundled .ts worker runs one file under node_modules/.cache, imports packages, and sees its entry as import.meta.url', async () => {
  const bundle = bundledEntry(ENTRY);
  assert.ok(bundle, 'esbuild bundles the entry');
  const file = fileURLToPath(bundle);
  assert.match(file, /node_modules[/\\]\.cache[/\\]spear-workers[/\\]echo-worker-[0-9a-f]{16}\.mjs$/);
  assert.ok(existsSync(file));
  // Its own modules are inside; npm packages stay imports.
  const code = readFileSync(file, 'utf8');
  assert.match(code, /function double/);
  assert.match(code, /from "zod"/);
  assert.equal(bundledEntry(ENTRY), bundle, 'made once per process');
  assert.deepEqual(await echo({ bundle: true }), { greeting: 'hello', doubled: 42, metaUrl: ENTRY, zod: 'ok' });
});

test('without bundling (or with SPEAR_WORKER_BUNDLE=0) the same worker runs its sources through tsx', async () => {
  assert.deepEqual(await echo({}), { greeting: 'hello', doubled: 42, metaUrl: ENTRY, zod: 'ok' });
  process.env.SPEAR_WORKER_BUNDLE = '0';
  try {
    assert.equal(bundledEntry(ENTRY), null);
    assert.deepEqual(await echo({ bundle: true }), { greeting: 'hello', doubled: 42, metaUrl: ENTRY, zod: 'ok' });
  } finally {
    delete process.env.SPEAR_WORKER_BUNDLE;
  }
});

test("writing a bundle deletes the entry's bundles older than a day, and a pruned bundle is made again", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'spear-prune-'));
  try {
    const entry = pathToFileURL(path.join(dir, 'prune-probe.ts')).href;
    writeFileSync(fileURLToPath(entry), 'export const version = 1;\n');
    const cache = path.dirname(fileURLToPath(bundledEntry(ENTRY)!));
    const old = path.join(cache, 'prune-probe-0000000000000000.mjs');
    const recent = path.join(cache, 'prune-probe-1111111111111111.mjs');
    for (const file of [old, recent]) writeFileSync(file, '');
    const twoDaysAgo = new Date(Date.now() - 2 * BUNDLE_KEEP_MS);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    const made = bundledEntry(entry)!;
    assert.ok(existsSync(fileURLToPath(made)));
    assert.equal(existsSync(old), false, 'older than a day: deleted');
    assert.equal(existsSync(recent), true, 'a recent one may still be in use');
    rmSync(recent);
    rmSync(fileURLToPath(made));
    assert.equal(bundledEntry(entry), made, 'made again, the same content');
    assert.ok(existsSync(fileURLToPath(made)));
    rmSync(fileURLToPath(made));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
