/**
 * The fused target graphs (native-models/spear_voice/t2s/fused.py): they reproduce PyTorch's reference outputs as
 * the exported graphs do, the shipped voice's fused `full` computes what its exported one does, the script
 * rebuilds the committed fixture byte for byte, and a manifest whose layout does not match its graph is
 * refused at load. (Cached = uncached and greedy equality of every strategy on the fused fixture are in
 * tests/core/engine/.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError } from '../../electron/core/errors.ts';
import { decode } from '../../electron/core/engine/decode.ts';
import { loadModel } from '../../electron/core/engine/model.ts';
import { FIXTURES, TINY, TINY_FUSED, TINY_INT8_TARGET, makePrompts, withCopy } from '../helpers/fixtures.ts';
import { openParityCases } from '../../native-models/tools/parity-cases.mjs';

const ROOT = path.resolve(FIXTURES, '../..');
const VOICE = path.join(ROOT, 'native-models/voice');
const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

/** (B, P, H·Dh) → (B, H, P, Dh), and back with `toBnsh = false` for (B, H, T, Dh) outputs. */
function relayout(data: Float32Array, B: number, S: number, H: number, Dh: number, toBnsh: boolean): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++) {
        const bsd = ((b * S + s) * H + h) * Dh;
        const bnsh = ((b * H + h) * S + s) * Dh;
        if (toBnsh) out.set(data.subarray(bsd, bsd + Dh), bnsh);
        else out.set(data.subarray(bnsh, bnsh + Dh), bsd);
      }
  return out;
}

/** (B, T, T) bool, t' <= t. */
function causalTreeMask(B: number, T: number): ort.Tensor {
  const mask = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) mask.fill(1, (b * T + t) * T, (b * T + t) * T + t + 1);
  return new ort.Tensor('bool', mask, [B, T, T]);
}

test("the fused full, trunk and rest reproduce PyTorch's outputs of the exported graphs' reference cases (≤ 1e-4)", async () => {
  const { index, tensor } = openParityCases(path.join(TINY, 'parity'));
  const manifest = manifestOf(TINY_FUSED);
  for (const role of ['full', 'trunk', 'rest']) {
    const entry = manifest.graphs[role];
    assert.equal(entry.kv_layout, 'bnsh');
    const H = entry.kv_heads;
    const Dh = entry.kv_dim / H;
    const session = await ort.InferenceSession.create(path.join(TINY_FUSED, entry.file));
    const cases = index.cases.filter((c) => c.role === role);
    assert.ok(cases.length >= 3, `${role}: reference cases`);
    for (const c of cases) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, spec] of Object.entries(c.inputs)) {
        const t = tensor(spec);
        if (name.startsWith('past_key_') || name.startsWith('past_value_')) {
          const [B, P] = spec.shape;
          feeds[name] = new ort.Tensor('float32', relayout(t.data as Float32Array, B, P, H, Dh, true), [B, H, P, Dh]);
        } else feeds[name] = t;
      }
      // The exported graphs' cases know no tree_mask: the fused `full` is fed the causal one, a chain's.
      if (session.inputNames.includes('tree_mask')) feeds.tree_mask = causalTreeMask(feeds.input_ids.dims[0], feeds.input_ids.dims[1]);
      const out = await session.run(feeds);
      for (const [name, spec] of Object.entries(c.outputs)) {
        const expected = tensor(spec).data as Float32Array;
        let got = out[name].data as Float32Array;
        if (name.startsWith('new_')) {
          const [B, T] = spec.shape;
          assert.deepEqual(out[name].dims, [B, H, T, Dh], `${role}/${c.case} ${name} shape`);
          got = relayout(got, B, T, H, Dh, false);
        }
        let diff = 0;
        for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(got[i] - expected[i]));
        assert.ok(diff <= index.tolerance, `${role}/${c.case} ${name}: max |Δ| ${diff}`);
      }
    }
    await session.release();
  }
});

test('the shipped voice: ar through the fused full (its float32 target) emits what ar through the exported full.onnx emits', async () => {
  const fused = await loadModel(VOICE, { roles: ['full'], target: 'float32' });
  const entry = fused.manifest.graphs.full!;
  assert.equal(entry.kv_layout, 'bnsh', 'the voice ships the fused target');
  // The exported graph, loaded as a model of its own: the same manifest with full pointing at the source.
  const exported = await withCopy(VOICE, async (dir) => {
    const m = manifestOf(dir);
    const { source } = m.graphs.full;
    m.graphs.full = {
      ...m.targets.float32.full,
      file: source.file,
      sha256: source.sha256,
      kv_layout: undefined,
      kv_heads: undefined,
      max_positions: undefined,
      source: undefined,
    };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    return loadModel(dir, { roles: ['full'] });
  });
  try {
    const units = fused.manifest.vocab.units!;
    const prompts = makePrompts([31, 12, 47], units.offset, 3);
    const options = { strategy: 'ar' as const, maxNewTokens: 60, stopToken: null };
    const a = await decode(fused, prompts, options);
    const b = await decode(exported, prompts, options);
    assert.deepEqual(a.rows, b.rows);
  } finally {
    await fused.release();
    await exported.release();
  }
});

for (const [fixtureDir, flags] of [
  [TINY_FUSED, []],
  [TINY_INT8_TARGET, ['--int8']],
] as const)
  test(`spear_voice.t2s.fused${flags.map((f) => ` ${f}`).join('')} rebuilds the committed ${path.basename(fixtureDir)} fixture byte for byte from tiny`, async () => {
    await withCopy(TINY, (dir) => {
      const out = path.join(dir, 'fused');
      const run = spawnSync('/usr/bin/python3', ['-m', 'spear_voice.t2s.fused', dir, '--out', out, ...flags], {
        cwd: path.join(ROOT, 'native-models'),
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      const made = manifestOf(out);
      assert.deepEqual(made, manifestOf(fixtureDir));
      const entries = [made.graphs, made.targets?.float32 ?? {}].flatMap((g) => ['full', 'trunk', 'rest'].map((role) => g[role]).filter(Boolean));
      assert.equal(entries.length, flags.length > 0 ? 6 : 3);
      for (const { file } of entries) assert.ok(readFileSync(path.join(out, file)).equals(readFileSync(path.join(fixtureDir, file))), file);
    });
  });

test('with a causal tree_mask the fused full computes what it computes without the input, bit for bit', async () => {
  await withCopy(TINY, async (dir) => {
    // The same builder without the tree_mask input (the causal mask built in the graph, as trunk and rest do).
    const out = path.join(dir, 'causal.onnx');
    const script = [
      'import sys, json, onnx',
      'from spear_voice.t2s.fused import build, read_target, POSITION_MARGIN',
      'd, out = sys.argv[1], sys.argv[2]',
      'm = json.load(open(d + "/manifest.json"))',
      't = read_target(d + "/full.onnx", m["n_layers"], m["n_heads"])',
      'onnx.save(build(t, "full", range(m["n_layers"]), m["exit_layer"], m["n_heads"], m["context"] + POSITION_MARGIN, tree_mask=False), out)',
    ].join('\n');
    const run = spawnSync('/usr/bin/python3', ['-c', script, dir, out], { cwd: path.join(ROOT, 'native-models'), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const entry = manifestOf(TINY_FUSED).graphs.full;
    const tree = await ort.InferenceSession.create(path.join(TINY_FUSED, entry.file));
    const causal = await ort.InferenceSession.create(out);
    assert.ok(tree.inputNames.includes('tree_mask') && !causal.inputNames.includes('tree_mask'));
    const H = entry.kv_heads;
    const Dh = entry.kv_dim / H;
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
    for (const [B, T, P] of [
      [1, 1, 5],
      [1, 4, 9],
      [3, 6, 32],
      [2, 8, 0],
    ]) {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: B * T }, (_, i) => BigInt(4 + (i % 12))),
          [B, T],
        ),
        positions: new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: B * T }, (_, i) => BigInt(Math.max(0, P - 2) + (i % T))),
          [B, T],
        ),
        past_len: new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: B }, (_, b) => BigInt(Math.max(0, P - 2 * b))),
          [B],
        ),
      };
      for (let l = 0; l < entry.cache_layers; l++) {
        for (const kind of ['key', 'value'])
          feeds[`past_${kind}_${l}`] = new ort.Tensor('float32', Float32Array.from({ length: B * H * P * Dh }, random), [B, H, P, Dh]);
      }
      const a = await causal.run(feeds);
      const b = await tree.run({ ...feeds, tree_mask: causalTreeMask(B, T) });
      for (const name of causal.outputNames) {
        const x = new Uint32Array((a[name].data as Float32Array).buffer);
        const y = new Uint32Array((b[name].data as Float32Array).buffer);
        assert.ok(x.length === y.length && x.every((v, i) => v === y[i]), `B ${B}, T ${T}, P ${P}: ${name} differs`);
      }
    }
    await tree.release();
    await causal.release();
  });
});

test('a manifest whose kv_layout does not match its graph, or lacks what "bnsh" needs, is refused at load', async () => {
  await withCopy(TINY_FUSED, async (dir) => {
    const m = manifestOf(dir);
    m.graphs.trunk = { ...m.graphs.trunk, file: m.graphs.trunk.source.file, sha256: m.graphs.trunk.source.sha256 };
    delete m.graphs.rest.kv_heads;
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(loadModel(dir), (error: Error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /graph "rest" has kv_layout "bnsh" and needs "kv_heads"/);
      return true;
    });
    delete m.graphs.rest.kv_layout;
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(loadModel(dir), (error: Error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /graph "trunk" \(trunk\.onnx\) reads past_key_0 with 3 axes; kv_layout "bnsh" has 4/);
      assert.match(error.message, /graph "rest" \(rest\.fused\.onnx\) reads past_key_0 with 4 axes; kv_layout "bsd" has 3/);
      return true;
    });
  });
  await withCopy(TINY_FUSED, async (dir) => {
    const m = manifestOf(dir);
    m.graphs.full.max_positions = 150;
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(loadModel(dir), /graph "full" has kv_layout "bnsh" and needs an integer "max_positions" of at least context \+ 65 \(193\)/);
  });
});
