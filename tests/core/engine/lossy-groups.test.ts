/**
 * Lossy acceptance with unit groups (verify.ts UnitGroups): off by default, never lossless at the
 * token level. What it keeps is tested here: greedy, every emitted token is in the group of the
 * target's argmax given what was emitted before it; sampled, the first emitted token's group has the
 * target's group probabilities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, type Strategy } from '../../../electron/core/engine/decode.ts';
import { KvCache } from '../../../electron/core/engine/kv-cache.ts';
import { seededUniform } from '../../../electron/core/engine/random.ts';
import { argmax } from '../../../electron/core/engine/sampling.ts';
import { verifySampledGroups, type UnitGroups } from '../../../electron/core/engine/verify.ts';
import { DecodeOptionError } from '../../../electron/core/errors.ts';
import { fixture, makePrompts, TINY } from '../../helpers/fixtures.ts';
import { chiSquare, chiSquareCritical } from '../../helpers/goodness-of-fit.ts';

/** Five groups over the vocabulary: token t in group t mod 5. */
const groupsOf = (V: number): UnitGroups => ({ of: Int32Array.from({ length: V }, (_, t) => t % 5), count: 5 });

test("greedy with groups: each emitted token is in the group of the target's own argmax after the tokens before it", async () => {
  const model = await fixture(TINY);
  const V = model.vocabSize;
  const groups = groupsOf(V);
  const prompts = makePrompts([4, 7, 3], V, 3);
  const graph = model.graphs.full!;
  let differs = 0;
  for (const strategy of ['draft', 'early-exit', 'eagle'] as Strategy[]) {
    const lossy = await decode(model, prompts, { strategy, gamma: 4, acceptGroups: groups, maxNewTokens: 30, stopToken: null });
    const ar = await decode(model, prompts, { strategy: 'ar', maxNewTokens: 30, stopToken: null });
    for (let r = 0; r < prompts.length; r++) {
      const seq = [...prompts[r], ...lossy.rows[r].tokens];
      // The target over the emitted sequence, uncached: its argmax at every position before an emitted token.
      const cache = new KvCache(graph.cacheLayers, graph.entry.kv_dim, 1, seq.length + 1);
      const { logits } = await graph.run(cache, { rows: 1, counts: [seq.length], tokenAt: (_s, i) => seq[i] });
      for (let i = prompts[r].length; i < seq.length; i++) {
        const want = argmax(logits!, (i - 1) * V, V);
        assert.equal(groups.of[seq[i]], groups.of[want], `${strategy}, row ${r}, position ${i}`);
      }
      if (lossy.rows[r].tokens.join() !== ar.rows[r].tokens.join()) differs++;
    }
  }
  assert.ok(differs > 0, 'somewhere the group tolerance kept a draft the target would not have written');
});

test("sampled with groups: the first emitted token's group has the target's group probabilities", () => {
  const V = 10;
  const groups = groupsOf(V);
  const u = seededUniform(77);
  const dist = (): Float64Array => {
    const d = Float64Array.from({ length: V }, () => u() ** 3);
    const s = d.reduce((a, b) => a + b, 0);
    return d.map((x) => x / s);
  };
  const gamma = 2;
  const p = new Float64Array([...dist(), ...dist(), ...dist()]);
  const q = new Float64Array([...dist(), ...dist()]);
  const groupP = new Float64Array(groups.count);
  for (let v = 0; v < V; v++) groupP[groups.of[v]] += p[v];
  const draws = 60_000;
  const counts = new Float64Array(groups.count);
  const draw = seededUniform(5);
  for (let n = 0; n < draws; n++) {
    // The drafts come from q, as a drafter's would.
    const pick = (base: number): number => {
      let c = 0;
      const x = draw();
      for (let v = 0; v < V; v++) if (x < (c += q[base + v])) return v;
      return V - 1;
    };
    const drafts = Int32Array.of(pick(0), pick(V));
    const out = verifySampledGroups({ rows: 1, gamma, vocabSize: V, p, q, draftTokens: drafts, uniforms: [draw], groups });
    const first = out.acceptedCounts[0] > 0 ? drafts[0] : out.nextTokens[0];
    counts[groups.of[first]]++;
  }
  const { statistic, df } = chiSquare(counts, groupP);
  assert.ok(statistic < chiSquareCritical(df), `chi-square ${statistic.toFixed(1)} (df ${df})`);
});

test('groups that do not cover the vocabulary are a DecodeOptionError', async () => {
  const model = await fixture(TINY);
  const bad: UnitGroups[] = [
    { of: new Int32Array(3), count: 1 },
    { of: Int32Array.from({ length: model.vocabSize }, () => 7), count: 5 },
  ];
  for (const acceptGroups of bad) {
    await assert.rejects(decode(model, [[1, 2, 3]], { strategy: 'draft', acceptGroups }), DecodeOptionError);
  }
});
