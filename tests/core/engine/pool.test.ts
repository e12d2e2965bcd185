import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, type DecodeOptions, type Strategy } from '../../../electron/core/engine/decode.ts';
import { DecoderPool, decodeRows } from '../../../electron/core/engine/pool.ts';
import type { DecodeEvent, StepEvent } from '../../../electron/core/engine/stats.ts';
import { DecodeAbortedError, DecodeOptionError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY, TINY_INT8_TARGET, withCopy } from '../../helpers/fixtures.ts';

const PROMPT_LENGTHS = [3, 7, 2, 12, 5, 9, 4];
const MAX_NEW = [17, 9, 30, 4, 22, 13, 26];

/** Each row's step events in order, without the fields that carry timing or batch numbering. */
function stepsByRow(events: DecodeEvent[], rows: number): unknown[][] {
  const out: unknown[][] = Array.from({ length: rows }, () => []);
  for (const e of events.filter((e): e is StepEvent => e.type === 'step')) {
    const { draftMs: _d, verifyMs: _v, batchStep: _b, batchSize: _s, ...rest } = e;
    out[e.row].push(rest);
  }
  return out;
}

async function both(dir: string, pool: DecoderPool, prompts: number[][], options: DecodeOptions) {
  const model = await fixture(dir);
  const alone: DecodeEvent[] = [];
  const pooled: DecodeEvent[] = [];
  const expected = await decode(model, prompts, { ...options, onEvent: (e) => alone.push(e) });
  const got = await pool.decode(model, prompts, { ...options, onEvent: (e) => pooled.push(e) });
  return { expected, got, alone, pooled };
}

// A batching target (tiny: shares of rows, one batch per worker) and a one-row-per-call target
// (tiny-int8-target: one row per job).
for (const dir of [TINY, TINY_INT8_TARGET]) {
  test(`a decoder pool gives decode()'s rows, events and counts (${path.basename(dir)})`, async () => {
    const pool = new DecoderPool(dir, 2);
    try {
      await pool.ready;
      const model = await fixture(dir);
      const prompts = makePrompts(PROMPT_LENGTHS, model.vocabSize, 7);
      const free = await decode(model, prompts, { maxNewTokens: MAX_NEW, stopToken: null });
      // Random weights rarely emit eos: stop on a token ar emits mid-row, so rows end both ways.
      const stopToken = free.rows.map((r) => r.tokens[Math.floor(r.tokens.length / 2)]).find((t) => t !== undefined)!;
      const greedy: [Strategy, number][] = [
        ['ar', 1],
        ['eagle', 3],
        ['early-exit', 2],
        ['draft', 4],
      ];
      for (const [strategy, gamma] of greedy) {
        const { expected, got, alone, pooled } = await both(dir, pool, prompts, { strategy, gamma, maxNewTokens: MAX_NEW, stopToken });
        assert.deepEqual(got.rows, expected.rows, `${strategy} γ ${gamma}`);
        assert.deepEqual(stepsByRow(pooled, prompts.length), stepsByRow(alone, prompts.length), `${strategy} γ ${gamma}: events`);
        for (const key of ['tokens', 'targetCalls', 'drafted', 'accepted'] as const)
          assert.equal(got.summary[key], expected.summary[key], `${strategy}: ${key}`);
        assert.equal(got.summary.gamma, expected.summary.gamma);
      }
      // Sampled with a seed per row: each row draws from its own stream wherever it runs.
      const seeds = prompts.map((_, i) => 100 + i);
      const { expected, got } = await both(dir, pool, prompts, { strategy: 'eagle', gamma: 2, temperature: 0.9, seeds, maxNewTokens: MAX_NEW });
      assert.deepEqual(got.rows, expected.rows, 'sampled eagle');
    } finally {
      await pool.release();
    }
  });
}

test('a decoder pool checks options in the caller first, cancels through the signal and decodes again after', async () => {
  const pool = new DecoderPool(TINY, 2);
  try {
    await pool.ready;
    const model = await fixture(TINY);
    const prompts = makePrompts([4, 6, 3], model.vocabSize, 3);
    await assert.rejects(pool.decode(model, prompts, { strategy: 'eagle', gamma: 0 }), DecodeOptionError);
    await assert.rejects(pool.decode(model, prompts, { maxNewTokens: [3, 4] }), DecodeOptionError);

    const controller = new AbortController();
    let steps = 0;
    const cancelled = pool.decode(model, prompts, {
      maxNewTokens: 400,
      stopToken: null,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step' && ++steps === 5) controller.abort();
      },
    });
    await assert.rejects(cancelled, DecodeAbortedError);
    const already = new AbortController();
    already.abort();
    await assert.rejects(pool.decode(model, prompts, { signal: already.signal }), DecodeAbortedError);

    const expected = await decode(model, prompts, { maxNewTokens: 12 });
    assert.deepEqual((await pool.decode(model, prompts, { maxNewTokens: 12 })).rows, expected.rows);
  } finally {
    await pool.release();
  }
});

test('calls made while a pool decodes wait their turn and give their own rows; a signal ends the wait', { timeout: 60_000 }, async () => {
  // tiny-int8-target: one row per job, so two calls at once would hand a busy worker a second job.
  const pool = new DecoderPool(TINY_INT8_TARGET, 2);
  try {
    await pool.ready;
    const model = await fixture(TINY_INT8_TARGET);
    const first = makePrompts([5, 3, 8, 4], model.vocabSize, 11);
    const second = makePrompts([6, 2, 7], model.vocabSize, 12);
    const options = { strategy: 'eagle' as const, gamma: 2, maxNewTokens: 24, stopToken: null };
    const expected = await Promise.all([decode(model, first, options), decode(model, second, options)]);
    const waiting = new AbortController();
    const [a, aborted, b] = await Promise.allSettled([
      pool.decode(model, first, options),
      pool.decode(model, second, { ...options, signal: waiting.signal }),
      pool.decode(model, second, options),
      Promise.resolve().then(() => waiting.abort()),
    ]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'fulfilled');
    assert.deepEqual((a as PromiseFulfilledResult<Awaited<ReturnType<typeof decode>>>).value.rows, expected[0].rows);
    assert.deepEqual((b as PromiseFulfilledResult<Awaited<ReturnType<typeof decode>>>).value.rows, expected[1].rows);
    assert.equal(aborted.status, 'rejected');
    assert.ok((aborted as PromiseRejectedResult).reason instanceof DecodeAbortedError);
  } finally {
    await pool.release();
  }
});

test("a pool that opens some graphs takes only their strategies' rows; decodeRows decodes the rest in this thread", async () => {
  const pool = new DecoderPool(TINY, 2, { roles: ['full', 'eagle'] });
  try {
    await pool.ready;
    const model = await fixture(TINY);
    const prompts = makePrompts([4, 6, 3], model.vocabSize, 5);
    assert.ok(pool.takes(prompts, { strategy: 'eagle', gamma: 3 }));
    assert.ok(pool.takes(prompts, {}));
    assert.equal(pool.takes(prompts, { strategy: 'draft', gamma: 3 }), false);
    for (const strategy of ['eagle', 'draft'] as const) {
      const options = { strategy, gamma: 3, maxNewTokens: 12 };
      assert.deepEqual((await decodeRows(model, pool, prompts, options)).rows, (await decode(model, prompts, options)).rows, strategy);
    }
  } finally {
    await pool.release();
  }
});

test('decodeRows keeps one row, sampling without per-row seeds and graph-call logs in this thread', async () => {
  const pool = new DecoderPool(TINY, 2);
  try {
    const model = await fixture(TINY);
    const prompts = makePrompts([4, 6, 3], model.vocabSize, 5);
    assert.equal(pool.takes(prompts, {}), true);
    assert.equal(pool.takes(prompts.slice(0, 1), {}), false);
    // decode() draws row r from stream r of `seed`: a worker decoding some of the rows would not.
    assert.equal(pool.takes(prompts, { temperature: 0.8 }), false);
    assert.equal(pool.takes(prompts, { temperature: 0.8, seeds: [1, 2, 3] }), true);
    assert.equal(pool.takes(prompts, { onGraphCall: () => undefined }), false);
    const options: DecodeOptions = { strategy: 'draft', gamma: 2, temperature: 0.8, seed: 4, maxNewTokens: 10 };
    assert.deepEqual((await decodeRows(model, pool, prompts, options)).rows, (await decode(model, prompts, options)).rows);
  } finally {
    await pool.release();
  }
});

test('a pool whose workers cannot open the model says why, and decodeRows decodes in this thread', async () => {
  await withCopy(TINY, async (dir) => {
    writeFileSync(path.join(dir, 'full.onnx'), 'not an onnx file');
    const pool = new DecoderPool(dir, 2);
    try {
      await assert.rejects(pool.ready, /a decode worker could not open the model: .*full\.onnx/);
      assert.match(pool.problem ?? '', /full\.onnx/);
      const model = await fixture(TINY);
      const prompts = makePrompts([4, 6], model.vocabSize, 2);
      assert.equal(pool.takes(prompts, {}), false);
      assert.deepEqual((await decodeRows(model, pool, prompts, { maxNewTokens: 8 })).rows, (await decode(model, prompts, { maxNewTokens: 8 })).rows);
    } finally {
      await pool.release();
    }
  });
});

test('a pool has two workers or more', () => {
  assert.throws(() => new DecoderPool(TINY, 1), RangeError);
});

test('stopWorkersNow lets a process exit mid-decode with its own code (ending a worker inside ONNX Runtime aborts it)', () => {
  const voice = path.resolve(TINY, '../../../native-models/voice');
  const helper = path.resolve(TINY, '../../helpers/exit-mid-decode.mts');
  for (let i = 0; i < 4; i++) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', helper, voice, 'stop'], { encoding: 'utf8' });
    assert.equal(run.status, 143, `run ${i}: ${run.signal ?? ''} ${run.stderr}`);
  }
});
