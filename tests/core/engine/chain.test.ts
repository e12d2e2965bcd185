/**
 * The drafters' chains (native-models/spear_voice/t2s/chain.py): gamma drafts in one session run, greedy or
 * sampled with temperature alone. They must draft exactly what gamma runs of the drafter's graph draft
 * (sampled: with the same seed), be used only where that holds (one row, greedy or temperature alone, a
 * gamma the model has a chain for), and a broken chain file must name itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, type DecodeOptions } from '../../../electron/core/engine/decode.ts';
import { ModelLoadError } from '../../../electron/core/errors.ts';
import type { LoadedModel } from '../../../electron/core/engine/model.ts';
import { loadModel } from '../../../electron/core/engine/model.ts';
import type { StepEvent } from '../../../electron/core/engine/stats.ts';
import { CHAINED_DRAFTERS, chainRole, type CallRole, type ChainedDrafter } from '../../../electron/core/engine/tensor-names.ts';
import { FIXTURES, fixture, makePrompts, TINY, TINY_INT8, withCopy } from '../../helpers/fixtures.ts';

const ROOT = path.resolve(FIXTURES, '../..');

type ChainedStrategy = 'eagle' | 'draft' | 'prophet';
/** The graph role a chained strategy drafts with: its own name, but the seed prophet's (`prophet`) is `seed_prophet`. */
const drafterOf = (strategy: ChainedStrategy): ChainedDrafter => (strategy === 'prophet' ? 'seed_prophet' : strategy);
/** The chained strategies of a fixture: tiny alone carries the seed prophet. */
const chainedOf = (dir: string): ChainedStrategy[] => (dir === TINY ? ['eagle', 'draft', 'prophet'] : ['eagle', 'draft']);

interface Traced {
  tokens: number[][];
  steps: Pick<StepEvent, 'row' | 'drafted' | 'accepted' | 'token'>[];
  calls: Map<CallRole, number>;
  /** Steps whose batch had one row left. */
  aloneSteps: number;
  /** Positions each chain call fed (its catch-up). */
  chainFed: number[];
}

async function traced(model: LoadedModel, prompts: number[][], options: DecodeOptions & { strategy: ChainedStrategy }): Promise<Traced> {
  const steps: Traced['steps'] = [];
  const calls = new Map<CallRole, number>();
  let aloneSteps = 0;
  const chainFed: number[] = [];
  const result = await decode(model, prompts, {
    maxNewTokens: 40,
    stopToken: null,
    ...options,
    onEvent: (e) => {
      if (e.type !== 'step') return;
      steps.push({ row: e.row, drafted: e.drafted, accepted: e.accepted, token: e.token });
      if (e.batchSize === 1) aloneSteps++;
    },
    onGraphCall: (c) => {
      calls.set(c.role, (calls.get(c.role) ?? 0) + 1);
      if (c.role === chainRole(drafterOf(options.strategy))) chainFed.push(c.positions.length);
    },
  });
  return { tokens: result.rows.map((r) => r.tokens), steps, calls, aloneSteps, chainFed };
}

for (const dir of [TINY, TINY_INT8]) {
  for (const strategy of chainedOf(dir)) {
    test(`a ${strategy} chain drafts what one ${strategy} call per token drafts, in one run per step (${path.basename(dir)})`, async () => {
      const model = await fixture(dir);
      assert.deepEqual(model.chains[drafterOf(strategy)].gammas, [2, 3, 4], 'the fixture carries chains for gamma 2, 3, 4');
      let accepted = 0;
      let rejected = 0;
      for (const [i, length] of [2, 5, 9, 14].entries()) {
        const prompts = makePrompts([length], model.vocabSize, 40 + i);
        for (const gamma of [2, 3, 4]) {
          const chained = await traced(model, prompts, { strategy, gamma });
          const stepwise = await traced(model, prompts, { strategy, gamma, chains: false });
          assert.deepEqual(chained.steps, stepwise.steps, `prompt length ${length}, gamma ${gamma}: drafts, acceptances and tokens`);
          assert.deepEqual(chained.tokens, stepwise.tokens);
          assert.equal(chained.calls.get(chainRole(drafterOf(strategy))), chained.steps.length, 'one chain run per verification step');
          assert.equal(chained.calls.get(drafterOf(strategy)) ?? 0, 0, `no ${strategy} run beside the chain`);
          assert.equal(stepwise.calls.get(chainRole(drafterOf(strategy))) ?? 0, 0);
          accepted += chained.steps.filter((s) => s.accepted > 0).length;
          rejected += chained.steps.filter((s) => s.accepted < gamma).length;
        }
      }
      assert.ok(accepted > 0 && rejected > 0, `the fixture should both accept and reject drafts (${accepted} steps accepted some, ${rejected} rejected some)`);
    });
  }
}

for (const dir of [TINY, TINY_INT8]) {
  for (const strategy of chainedOf(dir)) {
    test(`a sampled ${strategy} chain draws, with the same seed, what one ${strategy} call per token draws (${path.basename(dir)})`, async () => {
      const model = await fixture(dir);
      assert.deepEqual(model.chains[drafterOf(strategy)].sampled?.gammas, [2, 3, 4], 'the fixture carries sampled chains for gamma 2, 3, 4');
      for (const [i, length] of [2, 9].entries()) {
        const prompts = makePrompts([length], model.vocabSize, 60 + i);
        for (const gamma of [2, 3, 4]) {
          for (const [temperature, seed] of [
            [0.7, 11],
            [1.3, 12],
          ]) {
            const options = { strategy, gamma, temperature, seed };
            const chained = await traced(model, prompts, options);
            const stepwise = await traced(model, prompts, { ...options, chains: false });
            assert.deepEqual(chained.steps, stepwise.steps, `prompt length ${length}, gamma ${gamma}, temperature ${temperature}`);
            assert.deepEqual(chained.tokens, stepwise.tokens);
            assert.equal(chained.calls.get(chainRole(drafterOf(strategy))), chained.steps.length, 'one chain run per verification step');
            // Equal steps could also come from a chain whose every draw disagreed and fell back: none did.
            assert.equal(
              chained.calls.get(drafterOf(strategy)) ?? 0,
              0,
              `no ${strategy} run beside the sampled chain (no step fell back to one run per token)`,
            );
            assert.equal(stepwise.calls.get(chainRole(drafterOf(strategy))) ?? 0, 0);
          }
        }
      }
    });
  }
}

test("where a sampled chain's draw and the engine's differ, the step is drafted again one run per token with the same uniforms", async () => {
  // Rounding in the graph can put a uniform on the other side of a boundary (rare: 2 of 706 eagle
  // steps on the shipped voice at temperature 0.8). Forced here: the chain's second draft of every other
  // call is replaced, so the engine's draw disagrees there.
  const model = await fixture(TINY);
  const V = model.vocabSize;
  for (const strategy of chainedOf(TINY)) {
    const chain = await model.chains[drafterOf(strategy)].sampled!.graph(3);
    const run = chain.run.bind(chain);
    let calls = 0;
    chain.run = async (cache, feed) => {
      const result = await run(cache, feed);
      if (calls++ % 2 === 0) result.drafts![1] = BigInt((Number(result.drafts![1]) + 1) % V);
      return result;
    };
    try {
      const prompts = makePrompts([5], V, 70);
      const options = { strategy, gamma: 3, temperature: 1, seed: 4 };
      const chained = await traced(model, prompts, options);
      const stepwise = await traced(model, prompts, { ...options, chains: false });
      assert.deepEqual(chained.steps, stepwise.steps, strategy);
      assert.deepEqual(chained.tokens, stepwise.tokens, strategy);
      const redrafted = Math.ceil(chained.steps.length / 2);
      assert.equal(chained.calls.get(drafterOf(strategy)), 3 * redrafted, `${strategy}: three runs of its graph for each of the ${redrafted} redrafted steps`);
    } finally {
      chain.run = run;
    }
  }
});

test('on the shipped voice, every chain drafts exactly what one run per token drafts', async () => {
  // The voice's drafters have int8 weights, quantised per call over every position fed: a chain must feed
  // each call the positions one run per token would (the draft chain returns its drafted positions' keys
  // so the accepted ones are kept; without that, 21 % of the draft's steps drafted differently).
  const voice = await loadModel('native-models/voice');
  try {
    const prompts = [
      [1, 20, 41, 9, 33, 60, 12, 5, 47, 2],
      [1, 8, 15, 30, 22, 51, 7, 2],
    ];
    for (const strategy of (['eagle', 'draft', 'prophet'] as const).filter((s) => voice.chains[drafterOf(s)].gammas.length > 0)) {
      for (const prompt of prompts) {
        const chained = await traced(voice, [prompt], { strategy, gamma: 4, maxNewTokens: 120 });
        const stepwise = await traced(voice, [prompt], { strategy, gamma: 4, maxNewTokens: 120, chains: false });
        assert.ok(chained.steps.length > 10 && (chained.calls.get(chainRole(drafterOf(strategy))) ?? 0) > 10, strategy);
        assert.deepEqual(chained.steps, stepwise.steps, strategy);
        if (strategy === 'draft')
          assert.ok(
            chained.chainFed.slice(1).every((n) => n <= 2),
            `catch-ups: ${chained.chainFed.join(' ')}`,
          );
        const sampled = await traced(voice, [prompt], { strategy, gamma: 4, maxNewTokens: 120, temperature: 0.8, seed: 3 });
        const sampledStepwise = await traced(voice, [prompt], { strategy, gamma: 4, maxNewTokens: 120, temperature: 0.8, seed: 3, chains: false });
        assert.equal(sampled.calls.get(chainRole(drafterOf(strategy))), sampled.steps.length, `${strategy}: sampled chain`);
        assert.equal(sampled.calls.get(drafterOf(strategy)) ?? 0, 0, `${strategy}: no step fell back to one run per token`);
        assert.deepEqual(sampled.steps, sampledStepwise.steps, `${strategy}, temperature 0.8`);
      }
    }
  } finally {
    await voice.release();
  }
});

test('chains run only for one row, greedy or sampled with temperature alone, at a gamma they exist for; otherwise the drafter graph drafts', async () => {
  const model = await fixture(TINY);
  const one = makePrompts([6], model.vocabSize, 7);
  const three = makePrompts([6, 3, 10], model.vocabSize, 8);
  // A batch: rows stop at different steps; the chain drafts exactly the steps where one row is left.
  for (const strategy of chainedOf(TINY)) {
    const batch = await traced(model, three, { strategy, gamma: 3, maxNewTokens: [40, 12, 25] });
    assert.ok(batch.aloneSteps > 0 && batch.aloneSteps < batch.steps.length);
    assert.equal(batch.calls.get(chainRole(drafterOf(strategy))), batch.aloneSteps, strategy);
    const sampledAlone = await traced(model, one, { strategy, gamma: 3, temperature: 1, seed: 5 });
    assert.equal(sampledAlone.calls.get(chainRole(drafterOf(strategy))), sampledAlone.steps.length, `${strategy}, temperature alone: the sampled chain`);
    assert.equal(sampledAlone.calls.get(drafterOf(strategy)) ?? 0, 0, `${strategy}, temperature alone: no step fell back to one run per token`);
    const cases: [string, number[][], DecodeOptions][] = [
      ['sampling with top-k', one, { gamma: 3, temperature: 1, topK: 4, seed: 5 }],
      ['sampling with top-p', one, { gamma: 3, temperature: 1, topP: 0.8, seed: 5 }],
      ['gamma 1', one, { gamma: 1 }],
      ['gamma 5 (no chain in the fixture)', one, { gamma: 5 }],
    ];
    for (const [name, prompts, options] of cases) {
      const run = await traced(model, prompts, { ...options, strategy });
      assert.equal(run.calls.get(chainRole(drafterOf(strategy))) ?? 0, 0, `${strategy}, ${name}`);
      assert.ok((run.calls.get(drafterOf(strategy)) ?? 0) > 0, `${strategy}, ${name}`);
    }
  }
});

test("a draft taken from another model directory brings that directory's chains, or none", async () => {
  await withCopy(TINY_INT8, async (plain) => {
    // TINY_INT8 without its chains: same vocabulary as TINY, a different (int8) draft graph.
    const manifestPath = path.join(plain, 'manifest.json');
    const { chains, ...rest } = JSON.parse(readFileSync(manifestPath, 'utf8'));
    writeFileSync(manifestPath, JSON.stringify(rest));
    const none = await loadModel(TINY, { draftDir: plain });
    const other = await loadModel(TINY, { draftDir: TINY_INT8 });
    try {
      assert.equal(none.chains.draft.gammas.length, 0, 'a draft directory without chains: its draft drafts one run per token');
      assert.equal(none.chains.eagle.gammas.length, 3, "the target's eagle chains stay");
      for (const gamma of other.chains.draft.gammas)
        assert.equal((await other.chains.draft.graph(gamma)).entry.sha256, chains.draft.gammas[String(gamma)].sha256);
      const prompts = makePrompts([7], other.vocabSize, 3);
      const chained = await traced(other, prompts, { strategy: 'draft', gamma: 3 });
      const stepwise = await traced(other, prompts, { strategy: 'draft', gamma: 3, chains: false });
      assert.deepEqual(chained.steps, stepwise.steps);
      assert.ok((chained.calls.get(chainRole('draft')) ?? 0) > 0);
    } finally {
      await none.release();
      await other.release();
    }
  });
});

test('a chain file that is missing or altered is named in the load error, with every other problem', async () => {
  await withCopy(TINY, async (dir) => {
    const g3 = path.join(dir, 'eagle_chain.g3.onnx');
    writeFileSync(g3, Buffer.concat([readFileSync(g3), Buffer.from([0])]));
    rmSync(path.join(dir, 'eagle_chain.weights'));
    rmSync(path.join(dir, 'draft_chain.s2.onnx'));
    await assert.rejects(loadModel(dir), (error: unknown) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /chain of gamma 3: .*eagle_chain\.g3\.onnx has sha256/);
      assert.match(error.message, /weights of the eagle chains: .*eagle_chain\.weights is missing/);
      assert.match(error.message, /draft sampled chain of gamma 2: .*draft_chain\.s2\.onnx is missing/);
      return true;
    });
  });
});

test("a chain's session is created the first time its gamma drafts, and a chain that breaks the contract is named then", async () => {
  await withCopy(TINY, async (dir) => {
    const fresh = await loadModel(dir);
    try {
      assert.equal(fresh.chains.eagle.opened.length, 0, 'no chain session at load');
      await traced(fresh, makePrompts([6], fresh.vocabSize, 9), { strategy: 'eagle', gamma: 3, maxNewTokens: 12 });
      assert.deepEqual(
        fresh.chains.eagle.opened.map((g) => g.entry.file),
        ['eagle_chain.g3.onnx'],
      );
    } finally {
      await fresh.release();
    }
    // gamma 3's file replaced by the EAGLE graph itself (hash updated): it loads, and fails on first use.
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const eagle = readFileSync(path.join(dir, manifest.graphs.eagle.file));
    writeFileSync(path.join(dir, 'eagle_chain.g3.onnx'), eagle);
    manifest.chains.eagle.gammas['3'].sha256 = createHash('sha256').update(eagle).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const broken = await loadModel(dir);
    try {
      const prompts = makePrompts([6], broken.vocabSize, 9);
      await traced(broken, prompts, { strategy: 'eagle', gamma: 2, maxNewTokens: 12 });
      await assert.rejects(traced(broken, prompts, { strategy: 'eagle', gamma: 3, maxNewTokens: 12 }), (error: unknown) => {
        assert.ok(error instanceof ModelLoadError);
        assert.match(error.message, /eagle_chain\.g3\.onnx\) lacks output "drafts"/);
        return true;
      });
    } finally {
      await broken.release();
    }
  });
});

test('the chains are rebuilt byte for byte from the drafter graphs by native-models/spear_voice/t2s/chain.py', async () => {
  await withCopy(TINY_INT8, async (dir) => {
    const build = spawnSync(
      '/usr/bin/python3',
      ['-c', `import sys; from pathlib import Path; from spear_voice.t2s.chain import chain_voice; chain_voice(Path(sys.argv[1]))`, dir],
      {
        cwd: path.join(ROOT, 'native-models'),
        encoding: 'utf8',
      },
    );
    assert.equal(build.status, 0, build.stderr);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest, JSON.parse(readFileSync(path.join(TINY_INT8, 'manifest.json'), 'utf8')));
    for (const drafter of CHAINED_DRAFTERS.filter((d) => manifest.chains[d])) {
      const chain = manifest.chains[drafter];
      assert.equal(chain.source.file, `${drafter}.int8.onnx`, 'built from the graph the drafter ships');
      assert.deepEqual(Object.keys(chain.sampled.gammas), Object.keys(chain.gammas), 'a sampled chain beside each greedy one');
      for (const ref of [chain.weights, ...Object.values(chain.gammas), ...Object.values(chain.sampled.gammas)] as { file: string }[]) {
        assert.ok(readFileSync(path.join(dir, ref.file)).equals(readFileSync(path.join(TINY_INT8, ref.file))), ref.file);
      }
    }
  });
});
