import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from '../../../electron/core/engine/decode.ts';
import {
  DecodeAbortedError,
  DecodeOptionError,
  ModelLoadError,
  NonFiniteLogitsError,
  PromptError,
  ProviderError,
  VocabularyMismatchError,
} from '../../../electron/core/errors.ts';
import type { GraphFeed } from '../../../electron/core/engine/graph.ts';
import type { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import { loadModel, type Provider } from '../../../electron/core/engine/model.ts';
import { seededUniform } from '../../../electron/core/engine/random.ts';
import type { GraphRole } from '../../../electron/core/engine/tensor-names.ts';
import { fixture, makePrompts, TINY, TINY_NOEXIT, withCopy } from '../../helpers/fixtures.ts';

const PROMPT = [1, 5, 2];

async function rejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test('an empty prompt is a PromptError', async () => {
  const model = await fixture(TINY);
  await rejects(decode(model, [PROMPT, []]), PromptError, /prompt 1: is empty/);
  await rejects(decode(model, []), PromptError, /no prompts/);
});

test('a token id outside the vocabulary is a PromptError naming it', async () => {
  const model = await fixture(TINY);
  await rejects(decode(model, [[1, 16, 2]]), PromptError, /token 16 at index 1 is outside the vocabulary \[0, 16\)/);
  await rejects(decode(model, [[1, -1]]), PromptError, /token -1/);
});

test('gamma < 1 is a DecodeOptionError', async () => {
  const model = await fixture(TINY);
  await rejects(decode(model, [PROMPT], { strategy: 'draft', gamma: 0 }), DecodeOptionError, /gamma = 0 is not allowed: an integer from 1/);
  await rejects(decode(model, [PROMPT], { strategy: 'draft', gamma: 2.5 }), DecodeOptionError, /gamma = 2.5/);
});

test('a temperature other than 0 or a number from 1e-3 to 100 is a DecodeOptionError (negative, non-finite, subnormal, tiny, huge)', async () => {
  const model = await fixture(TINY);
  const allowed = /is not allowed: 0 \(greedy\) or a number from 0\.001 to 100/;
  for (const temperature of [-0.5, Number.NaN, Number.POSITIVE_INFINITY, 1e-310, Number.MIN_VALUE, 1e-4, 100.5]) {
    await rejects(
      decode(model, [PROMPT], { temperature }),
      DecodeOptionError,
      new RegExp(`temperature = ${String(temperature).replace(/[.+]/g, '\\$&')} ${allowed.source}`),
    );
  }
  // The edges are allowed, and sample: at 1e-3 that is the argmax (ties aside), not every token V-1 as a
  // subnormal temperature gave (1/T = Infinity, every probability NaN).
  const greedy = await decode(model, [PROMPT], { maxNewTokens: 12, stopToken: null });
  const cold = await decode(model, [PROMPT], { temperature: 1e-3, maxNewTokens: 12, stopToken: null, seed: 5 });
  assert.deepEqual(cold.rows[0].tokens, greedy.rows[0].tokens);
  const hot = await decode(model, [PROMPT], { temperature: 100, maxNewTokens: 12, stopToken: null, seed: 5 });
  assert.equal(hot.rows[0].tokens.length, 12);
});

test('a seed that is not an integer in [0, 2^32) is a DecodeOptionError, never wrapped modulo 2^32', async () => {
  const model = await fixture(TINY);
  for (const seed of [-1, 2 ** 32, 2 ** 32 + 5, 1.5, Number.NaN]) {
    await rejects(decode(model, [PROMPT], { temperature: 1, seed }), DecodeOptionError, /^seed = .* is not allowed: an integer in \[0, 2\^32\)$/);
  }
  await rejects(
    decode(model, [PROMPT, PROMPT], { temperature: 1, seeds: [3, 2 ** 32 + 3] }),
    DecodeOptionError,
    /^seeds\[1\] = 4294967299 is not allowed: an integer in \[0, 2\^32\)$/,
  );
  await rejects(
    decode(model, [PROMPT, PROMPT], { temperature: 1, seeds: [3] }),
    DecodeOptionError,
    /seeds = "1 values" .*one integer in \[0, 2\^32\) per prompt \(2\)/,
  );
  assert.throws(() => seededUniform(2 ** 32), DecodeOptionError, 'the generator itself refuses it too');
  // The largest seed is a seed of its own.
  const top = await decode(model, [PROMPT], { temperature: 1, seed: 2 ** 32 - 1, maxNewTokens: 20, stopToken: null });
  const zero = await decode(model, [PROMPT], { temperature: 1, seed: 0, maxNewTokens: 20, stopToken: null });
  assert.notDeepEqual(top.rows[0].tokens, zero.rows[0].tokens);
});

test('top-p outside (0, 1] is a DecodeOptionError', async () => {
  const model = await fixture(TINY);
  await rejects(decode(model, [PROMPT], { temperature: 1, topP: 0 }), DecodeOptionError, /topP = 0 .*\(0, 1\]/);
  await rejects(decode(model, [PROMPT], { temperature: 1, topP: 1.5 }), DecodeOptionError, /topP = 1.5/);
});

test('top-k < 1 is a DecodeOptionError', async () => {
  const model = await fixture(TINY);
  await rejects(decode(model, [PROMPT], { temperature: 1, topK: 0 }), DecodeOptionError, /topK = 0 .*integer ≥ 1/);
});

test('a prompt longer than the context is a PromptError', async () => {
  const model = await fixture(TINY);
  const long = new Array(model.manifest.context).fill(5);
  await rejects(decode(model, [long]), PromptError, /holds 128 tokens; the model's context is 128/);
});

test('an unknown strategy, or one whose graphs are missing, is a DecodeOptionError', async () => {
  const model = await fixture(TINY);
  // @ts-expect-error: a caller outside TypeScript can pass anything
  await rejects(decode(model, [PROMPT], { strategy: 'lookahead' }), DecodeOptionError, /strategy = "lookahead" .*one of ar, draft/);
  const arOnly = await loadModel(TINY, { roles: ['full'] });
  await rejects(decode(arOnly, [PROMPT], { strategy: 'eagle' }), DecodeOptionError, /lacks graph\(s\) eagle/);
  await rejects(decode(arOnly, [PROMPT], { strategy: 'layer-skip' }), DecodeOptionError, /^strategy = "layer-skip" .*lacks graph\(s\) layer_skip$/);
  // A voice without the seed prophet's graph: one line naming what is missing.
  const noProphet = await fixture(TINY_NOEXIT);
  await rejects(
    decode(noProphet, [PROMPT], { strategy: 'prophet' }),
    DecodeOptionError,
    /^strategy = "prophet" .*tiny-noexit\) lacks graph\(s\) seed_prophet$/,
  );
  await arOnly.release();
});

test('a draft model whose vocabulary differs from the target is a VocabularyMismatchError', async () => {
  await rejects(
    loadModel(TINY, { draftDir: TINY_NOEXIT }),
    VocabularyMismatchError,
    /tiny-noexit cannot draft for this target: vocabulary size 12 vs the target's 16/,
  );
});

async function copyFixture(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-model-'));
  await cp(TINY, dir, { recursive: true });
  return dir;
}

test('a manifest that lists an input the ONNX file lacks is a ModelLoadError naming the file and input', async () => {
  const dir = await copyFixture();
  try {
    // Swap the draft graph in as "full" (hash updated): it has no hidden_out and fewer cache layers.
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.graphs.full.file = manifest.graphs.draft.file;
    manifest.graphs.full.sha256 = manifest.graphs.draft.sha256;
    await writeFile(manifestPath, JSON.stringify(manifest));
    await rejects(loadModel(dir), ModelLoadError, /manifest\.json: .*graph "full" \(draft\.onnx\) lacks input "past_key_1".*lacks output "hidden_out"/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a graph file whose hash differs from the manifest is a ModelLoadError naming the file', async () => {
  const dir = await copyFixture();
  try {
    const file = path.join(dir, 'rest.onnx');
    const bytes = await readFile(file);
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(file, bytes);
    await rejects(loadModel(dir), ModelLoadError, /graph "rest": .*rest\.onnx has sha256 .* the manifest says .*corrupt/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a missing graph file or manifest is a ModelLoadError naming it', async () => {
  const dir = await copyFixture();
  try {
    await rm(path.join(dir, 'eagle.onnx'));
    await rejects(loadModel(dir), ModelLoadError, /eagle\.onnx is missing \(ENOENT\)/);
    await rm(path.join(dir, 'manifest.json'));
    await rejects(loadModel(dir), ModelLoadError, /manifest\.json: cannot be read \(ENOENT\)/);
    await writeFile(path.join(dir, 'manifest.json'), '{ not json');
    await rejects(loadModel(dir), ModelLoadError, /manifest\.json: is not valid JSON/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('an unknown provider is a ProviderError; an unavailable GPU provider falls back to CPU and says why', async () => {
  await rejects(loadModel(TINY, { provider: 'tpu' as Provider }), ProviderError, /provider "tpu" is unknown; use one of cpu, webgpu, cuda/);
  const model = await loadModel(TINY, { provider: 'cuda', roles: ['full'] });
  assert.equal(model.provider.requested, 'cuda');
  assert.equal(model.provider.used, 'cpu');
  assert.match(model.provider.fallbackReason ?? '', /cuda/);
  await model.release();
});

test('an aborted signal stops decoding with DecodeAbortedError and no result', async () => {
  const model = await fixture(TINY);
  const controller = new AbortController();
  let steps = 0;
  const run = decode(model, [PROMPT, PROMPT], {
    strategy: 'draft',
    maxNewTokens: 100,
    stopToken: null,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'step' && ++steps === 3) controller.abort();
    },
  });
  await rejects(run, DecodeAbortedError, /cancelled/);
});

/**
 * Loads a fresh copy of TINY whose `role` graph writes `value` into one logit of the `nth` call that
 * feeds the row in slot `slot` (its last real position), and runs `body` with it.
 */
async function withPoisonedLogits(
  role: GraphRole,
  value: number,
  nth: number,
  slot: number,
  body: (model: Awaited<ReturnType<typeof loadModel>>) => Promise<void>,
): Promise<void> {
  const model = await loadModel(TINY);
  const graph = model.graphs[role]!;
  const run = graph.run.bind(graph);
  let calls = 0;
  graph.run = async (cache: KvCache, feed: GraphFeed) => {
    const result = await run(cache, feed);
    if (++calls === nth && feed.rows > slot && feed.counts[slot] > 0) {
      const V = model.vocabSize;
      result.logits![(slot * result.T + feed.counts[slot] - 1) * V + 5] = value;
    }
    return result;
  };
  try {
    await body(model);
  } finally {
    await model.release();
  }
}

test('a NaN or infinite logit is a NonFiniteLogitsError naming the graph, its file, the row and the position', async () => {
  const prompts = makePrompts([4, 6], 16, 3);
  // Greedy, the target (an argmax over a NaN used to return a token silently): row 1 at its prefill's last position.
  await withPoisonedLogits('full', Number.NaN, 1, 1, async (model) => {
    await rejects(
      decode(model, prompts, { maxNewTokens: 8 }),
      NonFiniteLogitsError,
      /^graph "full" \(full\.onnx\) returned logit NaN for token 5 at position 4 of row 1; /,
    );
  });
  // Sampling, a drafter's logits: the draft model's second call of the decode (row 0).
  await withPoisonedLogits('draft', Number.POSITIVE_INFINITY, 2, 0, async (model) => {
    await rejects(
      decode(model, prompts, { strategy: 'draft', gamma: 3, temperature: 1, maxNewTokens: 8 }),
      NonFiniteLogitsError,
      /^graph "draft" \(draft\.onnx\) returned logit Infinity .* of row 0; /,
    );
  });
  // Early exit's verifier, rest.
  await withPoisonedLogits('rest', Number.NEGATIVE_INFINITY, 3, 0, async (model) => {
    await rejects(
      decode(model, prompts, { strategy: 'early-exit', gamma: 2, maxNewTokens: 8 }),
      NonFiniteLogitsError,
      /^graph "rest" \(rest\.onnx\) returned logit -Infinity/,
    );
  });
});

test("a sampled chain's NaN logits are a NonFiniteLogitsError naming the chain", async () => {
  const model = await loadModel(TINY);
  try {
    const chain = await model.chains.eagle.sampled!.graph(3);
    const run = chain.run.bind(chain);
    chain.run = async (cache, feed) => {
      const result = await run(cache, feed);
      result.draftLogits![16 + 2] = Number.NaN;
      return result;
    };
    await rejects(
      decode(model, [PROMPT], { strategy: 'eagle', gamma: 3, temperature: 1, maxNewTokens: 8 }),
      NonFiniteLogitsError,
      /^graph "eagle_chain" \(eagle_chain\.s3\.onnx\) returned logit NaN for token 2 at position 3 of row 0/,
    );
  } finally {
    await model.release();
  }
});

/** Edits a scratch copy of TINY's manifest with `edit` and expects loadModel to fail with every `patterns`. */
async function rejectsManifest(edit: (manifest: Record<string, any>) => void, patterns: RegExp[]): Promise<void> {
  await withCopy(TINY, async (dir) => {
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    edit(manifest);
    await writeFile(manifestPath, JSON.stringify(manifest));
    await assert.rejects(loadModel(dir), (error: Error) => {
      assert.ok(error instanceof ModelLoadError, `expected ModelLoadError, got ${error.name}: ${error.message}`);
      assert.ok(error.message.startsWith(manifestPath), error.message);
      for (const pattern of patterns) assert.match(error.message, pattern);
      return true;
    });
  });
}

test('hidden_dim and kv_dim are cross-checked at load: between graphs, against d_model and n_heads × head_dim, and against the sessions', async () => {
  // EAGLE reads full's hidden states: their widths must agree.
  await rejectsManifest(
    (m) => (m.graphs.eagle.hidden_dim = 16),
    [/graph "eagle" \(eagle\.onnx\) reads hidden states of width 16, but graph "full" \(full\.onnx\), which writes them, declares hidden_dim 32/],
  );
  // So does the seed prophet (its start token is a projection of h_t).
  await rejectsManifest(
    (m) => (m.graphs.seed_prophet.hidden_dim = 16),
    [/graph "seed_prophet" \(seed_prophet\.onnx\) reads hidden states of width 16, but graph "full" \(full\.onnx\), which writes them, declares hidden_dim 32/],
  );
  // rest reads the trunk's; and the target's graphs are d_model wide.
  await rejectsManifest(
    (m) => (m.graphs.rest.hidden_dim = 24),
    [
      /graph "rest" \(rest\.onnx\) declares hidden_dim 24, but the target's d_model is 32/,
      /graph "rest" \(rest\.onnx\) reads hidden states of width 24, but graph "trunk"/,
    ],
  );
  // A target graph's cache is n_heads × head_dim wide; the session's past/new tensors say so too.
  await rejectsManifest(
    (m) => (m.graphs.full.kv_dim = 16),
    [/graph "full" \(full\.onnx\) declares kv_dim 16, but the target's n_heads × head_dim is 2 × 16 = 32/],
  );
  // The draft's width is its own (its chains agreeing): only its session can say it is wrong.
  await rejectsManifest(
    (m) => (m.graphs.draft.kv_dim = m.chains.draft.kv_dim = 32),
    [/graph "draft" \(draft\.onnx\) has past_key_0, past_value_0, new_key_0, new_value_0 of width 16, the manifest declares kv_dim 32/],
  );
  // A chain has its drafter's widths.
  await rejectsManifest((m) => (m.chains.eagle.kv_dim = 16), [/chains of "eagle" declare kv_dim 16, but graph "eagle" \(eagle\.onnx\) declares 32/]);
  // A graph that reads hidden states must say how wide they are.
  await rejectsManifest(
    (m) => delete m.graphs.exit_head.hidden_dim,
    [/graph "exit_head" \(exit_head\.onnx\) reads or writes hidden states but declares no integer "hidden_dim"/],
  );
});

test("a hidden_dim narrower than the sessions' hidden tensors is named with each session", async () => {
  // Manifest and d_model edited together, so only the sessions' shapes disagree.
  await rejectsManifest(
    (m) => {
      m.d_model = 16;
      for (const role of ['full', 'trunk', 'rest', 'exit_head', 'eagle', 'layer_skip', 'medusa', 'seed_prophet']) m.graphs[role].hidden_dim = 16;
      m.chains.eagle.hidden_dim = m.chains.seed_prophet.hidden_dim = 16;
    },
    [
      /graph "full" \(full\.onnx\) has hidden_out of width 32, the manifest declares hidden_dim 16/,
      /graph "eagle" \(eagle\.onnx\) has hidden_in, hidden_out of width 32, the manifest declares hidden_dim 16/,
    ],
  );
});
