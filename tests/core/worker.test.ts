import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundledEntry, siblingUrl, startWorker } from '../../electron/core/worker.ts';

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
