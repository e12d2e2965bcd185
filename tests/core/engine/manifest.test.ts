/**
 * The manifest's format: a `spear-t2s/1` manifest, whose EAGLE drafter's graph role, chains and the
 * voice's default strategy are named `prophet`, loads as the `spear-t2s/2` manifest it equals, and
 * decodes the same.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { decode, type DecodeOptions } from '../../../electron/core/engine/decode.ts';
import type { GraphCall } from '../../../electron/core/engine/graph.ts';
import { MANIFEST_FORMAT_1, upgradeManifest } from '../../../electron/core/engine/manifest.ts';
import { loadModel, type LoadedModel } from '../../../electron/core/engine/model.ts';
import { GRAPH_ROLES, MANIFEST_FORMAT } from '../../../electron/core/engine/tensor-names.ts';
import { openVoice } from '../../../electron/core/pipeline/voice.ts';
import { fakeSpeaker } from '../../helpers/fake-speaker.ts';
import { fixture, makePrompts, TINY, TINY_VOICE, withCopy } from '../../helpers/fixtures.ts';

type Json = Record<string, any>;

/** A `spear-t2s/2` manifest written as `spear-t2s/1`: the same files, the EAGLE drafter named `prophet`. */
function asFormat1(m: Json): Json {
  const rename = (record: Json): Json => Object.fromEntries(Object.entries(record).map(([k, v]) => [k === 'eagle' ? 'prophet' : k, v]));
  const old: Json = { ...m, format: MANIFEST_FORMAT_1, graphs: rename(m.graphs) };
  if (m.chains) old.chains = rename(m.chains);
  if (m.voice?.default_strategy === 'eagle') old.voice = { ...m.voice, default_strategy: 'prophet' };
  return old;
}

async function rewriteAsFormat1(dir: string, edit: (m: Json) => void = () => undefined): Promise<void> {
  const file = path.join(dir, 'manifest.json');
  const old = asFormat1(JSON.parse(await readFile(file, 'utf8')));
  edit(old);
  assert.ok('prophet' in old.graphs && !('eagle' in old.graphs), 'the rewritten manifest names the graph "prophet"');
  await writeFile(file, JSON.stringify(old, null, 2));
}

test('upgradeManifest renames the /1 role, chains and default strategy, and leaves every other value as it is', () => {
  const graph = { file: 'p.onnx' };
  const chain = { batch: 1 };
  const old = {
    format: MANIFEST_FORMAT_1,
    graphs: { full: {}, prophet: graph },
    chains: { prophet: chain },
    voice: { default_strategy: 'prophet', unit_rate: 25 },
  };
  assert.deepEqual(upgradeManifest(old), {
    format: MANIFEST_FORMAT,
    graphs: { full: {}, eagle: graph },
    chains: { eagle: chain },
    voice: { default_strategy: 'eagle', unit_rate: 25 },
  });
  assert.equal(old.graphs.prophet, graph, 'the parsed value itself is not changed');
  const noChains = { format: MANIFEST_FORMAT_1, graphs: { full: {} }, voice: { default_strategy: 'draft' } };
  assert.deepEqual(upgradeManifest(noChains), { ...noChains, format: MANIFEST_FORMAT });
  for (const value of [{ format: MANIFEST_FORMAT, graphs: { prophet: graph } }, { format: 'spear-t2s/0' }, null, [], 'x']) {
    assert.equal(upgradeManifest(value), value);
  }
});

test('a spear-t2s/1 manifest loads as spear-t2s/2, its "prophet" graph and chains the EAGLE drafter, and decodes the same', async () => {
  const current = await fixture(TINY);
  const prompts = makePrompts([5, 9], current.vocabSize, 3);
  const settings: DecodeOptions[] = [
    { strategy: 'eagle', gamma: 3, maxNewTokens: 16 },
    { strategy: 'eagle', gamma: 4, temperature: 0.9, seed: 5, maxNewTokens: 16 },
    { strategy: 'eagle', gamma: 2, temperature: 0.9, topK: 5, seed: 2, maxNewTokens: 16 },
  ];
  const run = async (model: LoadedModel, options: DecodeOptions, rows: number[][]) => {
    const roles: string[] = [];
    const r = await decode(model, rows, { ...options, onGraphCall: (call: GraphCall) => roles.push(call.role) });
    return { tokens: r.rows.map((row) => row.tokens), roles: [...new Set(roles)].sort() };
  };
  await withCopy(TINY, async (dir) => {
    await rewriteAsFormat1(dir);
    const old = await loadModel(dir);
    try {
      assert.equal(old.manifest.format, MANIFEST_FORMAT);
      assert.deepEqual(Object.keys(old.graphs).sort(), Object.keys(current.graphs).sort());
      assert.deepEqual(old.chains.eagle.gammas, current.chains.eagle.gammas);
      assert.ok(old.chains.eagle.gammas.length > 0);
      for (const options of settings) {
        // One row drafts through the chains (greedy, and sampled with temperature alone), two rows stepwise.
        for (const rows of [prompts.slice(0, 1), prompts]) {
          const want = await run(current, options, rows);
          assert.deepEqual(await run(old, options, rows), want, JSON.stringify(options));
        }
      }
      const chained = await run(old, settings[0], prompts.slice(0, 1));
      assert.ok(chained.roles.includes('eagle_chain'), `the chains draft: ${chained.roles.join(', ')}`);
    } finally {
      await old.release();
    }
  });
});

test('a spear-t2s/1 voice whose default strategy is "prophet" opens with "eagle"', async () => {
  await withCopy(TINY_VOICE, async (dir) => {
    await rewriteAsFormat1(dir, (m) => {
      m.voice.default_strategy = 'prophet';
    });
    const voice = await openVoice(dir, { loadSpeaker: async () => fakeSpeaker(32) });
    try {
      assert.equal(voice.section.default_strategy, 'eagle');
      assert.ok(voice.decoder.graphs.eagle);
    } finally {
      await voice.release();
    }
  });
});

test('a spear-t2s/1 manifest is checked as strictly as any: a role unknown to it is refused by name', async () => {
  await withCopy(TINY, async (dir) => {
    await rewriteAsFormat1(dir, (m) => {
      m.graphs.lookahead = m.graphs.draft;
    });
    await assert.rejects(loadModel(dir), new RegExp(`graph role "lookahead" is unknown \\(known: ${GRAPH_ROLES.join(', ')}\\)`));
  });
});

test('"row_invariant" is true, false or absent', async () => {
  await withCopy(TINY, async (dir) => {
    const file = path.join(dir, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8'));
    m.graphs.eagle.row_invariant = 'no';
    await writeFile(file, JSON.stringify(m, null, 2));
    await assert.rejects(loadModel(dir), /graph "eagle" has "row_invariant" "no": true, false or absent/);
  });
});
