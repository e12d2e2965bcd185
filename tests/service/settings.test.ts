/** The studio's settings file: defaults, a bad field dropped alone, and "prophet" read as the seed prophet's strategy. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS, fileSettings, upgradeSettings } from '../../electron/service/settings.ts';

async function withFile(body: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spear-settings-'));
  try {
    await body(path.join(dir, 'settings.json'));
  } finally {
    await rm(dir, { recursive: true });
  }
}

test('a missing file gives the defaults; a bad field is dropped and the rest kept', () =>
  withFile(async (file) => {
    assert.deepEqual((await fileSettings(file)).get(), DEFAULT_SETTINGS);
    await writeFile(file, JSON.stringify({ defaultStrategy: 'teleport', defaultGamma: 6, threads: 2 }));
    assert.deepEqual((await fileSettings(file)).get(), { ...DEFAULT_SETTINGS, defaultGamma: 6, threads: 2 });
  }));

test('a default strategy saved as "prophet" is the seed prophet\'s, and is written back so', () =>
  withFile(async (file) => {
    assert.deepEqual(upgradeSettings({ defaultStrategy: 'prophet', threads: 2 }), { defaultStrategy: 'prophet', threads: 2 });
    assert.deepEqual(upgradeSettings({ defaultStrategy: 'draft' }), { defaultStrategy: 'draft' });
    await writeFile(file, JSON.stringify({ defaultStrategy: 'prophet', defaultGamma: 5, useCalibration: false }));
    const store = await fileSettings(file);
    assert.deepEqual(store.get(), { ...DEFAULT_SETTINGS, defaultStrategy: 'prophet', defaultGamma: 5, useCalibration: false });
    await store.update({ threads: 2 });
    assert.equal(JSON.parse(await readFile(file, 'utf8')).defaultStrategy, 'prophet');
    await writeFile(file, JSON.stringify({ defaultStrategy: 'draft' }));
    assert.equal((await fileSettings(file)).get().defaultStrategy, 'draft');
  }));
