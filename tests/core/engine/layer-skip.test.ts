/**
 * The layer-skip drafter (electron/core/engine/drafters/layer-skip.ts) drafts what its graph predicts from
 * the committed sequence: after every verification its cache holds exactly the committed tokens and the
 * accepted drafts. (Greedy equality, batch rows and the sampled law are in decode-*.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import type { StepEvent } from '../../../electron/core/engine/stats.ts';
import { argmax } from '../../../electron/core/engine/sampling.ts';
import { fixture, makePrompts, TINY_NOEXIT, TINY_VOICE } from '../../helpers/fixtures.ts';

for (const dir of [TINY_NOEXIT, TINY_VOICE])
  test(`every draft is the layer_skip graph's argmax after the committed sequence and the drafts before it, uncached (${dir.split('/').pop()})`, async () => {
    const model = await fixture(dir);
    const graph = model.graphs.layer_skip!;
    const V = model.vocabSize;
    const prompts = makePrompts([5, 9, 3], V, 11);
    const gamma = 3;
    const steps: StepEvent[] = [];
    const result = await decode(model, prompts, {
      strategy: 'layer-skip',
      gamma,
      maxNewTokens: 30,
      stopToken: null,
      onEvent: (e) => {
        if (e.type === 'step') steps.push(e);
      },
    });
    /** The graph's argmax after `tokens`, from one uncached call. */
    const next = async (tokens: number[]): Promise<number> => {
      const cache = KvCache.forGraph(graph.entry, 1, tokens.length + 1);
      const { logits } = await graph.run(cache, { rows: 1, counts: [tokens.length], tokenAt: (_s, i) => tokens[i] });
      return argmax(logits!, (tokens.length - 1) * V, V);
    };
    let rejections = 0;
    for (const [r, prompt] of prompts.entries()) {
      const seq = [...prompt];
      for (const step of steps.filter((s) => s.row === r)) {
        for (let i = 0; i < gamma; i++)
          assert.equal(step.drafted[i], await next([...seq, ...step.drafted.slice(0, i)]), `row ${r} step ${step.step} draft ${i}`);
        if (step.accepted < gamma) rejections++;
        seq.push(...step.drafted.slice(0, step.accepted), step.token);
      }
      assert.deepEqual(seq.slice(prompt.length, prompt.length + 30), result.rows[r].tokens);
    }
    assert.ok(rejections >= 5, `the fixture should reject drafts (${rejections} steps did)`);
  });
