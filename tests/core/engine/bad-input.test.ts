import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from '../../../electron/core/engine/decode.ts';
import { DecodeAbortedError, DecodeOptionError, ModelLoadError, PromptError, ProviderError, VocabularyMismatchError } from '../../../electron/core/errors.ts';
import { loadModel, type Provider } from '../../../electron/core/engine/model.ts';
import { fixture, TINY, TINY_NOEXIT } from '../../helpers/fixtures.ts';

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

test('temperature < 0 is a DecodeOptionError', async () => {
  const model = await fixture(TINY);
  await rejects(decode(model, [PROMPT], { temperature: -0.5 }), DecodeOptionError, /temperature = -0.5 .*≥ 0/);
  await rejects(decode(model, [PROMPT], { temperature: Number.NaN }), DecodeOptionError, /temperature = NaN/);
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
  await rejects(decode(model, [PROMPT], { strategy: 'medusa' }), DecodeOptionError, /strategy = "medusa" .*one of ar, draft/);
  const arOnly = await loadModel(TINY, { roles: ['full'] });
  await rejects(decode(arOnly, [PROMPT], { strategy: 'prophet' }), DecodeOptionError, /lacks graph\(s\) prophet/);
  await arOnly.release();
});

test('a draft model whose vocabulary differs from the target is a VocabularyMismatchError', async () => {
  await rejects(loadModel(TINY, { draftDir: TINY_NOEXIT }), VocabularyMismatchError, /tiny-noexit cannot draft for this target: vocabulary size 12 vs the target's 16/);
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
    await rm(path.join(dir, 'prophet.onnx'));
    await rejects(loadModel(dir), ModelLoadError, /prophet\.onnx is missing \(ENOENT\)/);
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
