/**
 * The bench schedule and numbers `spear bench` and the studio's Compare view share
 * (electron/core/eval/bench.ts), on made-up summaries: no model runs here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchCell, benchCells, benchConfigs, benchKey, median, roundOrder, runInterleaved, type BenchPosition } from '../../../electron/core/eval/bench.ts';
import type { SynthesisSummary } from '../../../electron/core/pipeline/events.ts';

/** A run's summary with the numbers the cells read. */
function summary(tokensPerSecond: number, acceptanceRate = 0.5, tokensPerTargetCall = 2): SynthesisSummary {
  return {
    strategy: 'draft',
    gamma: 2,
    sentences: 3,
    decode: { tokens: 120, acceptanceRate, tokensPerTargetCall, costRatio: 0.1, theoreticalSpeedup: 1.5 } as SynthesisSummary['decode'],
    decodeSeconds: 120 / tokensPerSecond,
    seconds: 1,
    audioSeconds: 4,
    rtf: 0.25,
    tokensPerSecond,
    timeToFirstAudioMs: 50,
    rereadSentences: 0,
  };
}

test('ar comes first, then each drafting strategy at each gamma; each round rotates the order by one', () => {
  const configs = benchConfigs(['ar', 'eagle', 'early-exit'], [1, 3]);
  assert.deepEqual(configs.map(benchKey), ['ar/0', 'eagle/1', 'eagle/3', 'early-exit/1', 'early-exit/3']);
  assert.deepEqual(benchConfigs(['draft'], [2, 'auto']).map(benchKey), ['ar/0', 'draft/2', 'draft/auto']);
  assert.deepEqual(roundOrder([1, 2, 3], 0), [1, 2, 3]);
  assert.deepEqual(roundOrder([1, 2, 3], 1), [2, 3, 1]);
  assert.deepEqual(roundOrder([1, 2, 3], 4), [2, 3, 1]);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('runInterleaved discards the warm-up rounds and reports each measured run', async () => {
  const configs = benchConfigs(['draft'], [2, 4]);
  const seen: BenchPosition[] = [];
  const measured: number[] = [];
  let speed = 100;
  const runs = await runInterleaved({
    configs,
    repeats: 2,
    run: async (p) => (seen.push(p), summary(p.warmUp ? 1 : speed++)),
    onMeasured: (_p, all) => measured.push([...all.values()].reduce((n, r) => n + r.length, 0)),
  });
  assert.deepEqual(
    seen.map((p) => `${p.round}:${benchKey(p.config)}:${p.warmUp ? 'w' : 'm'}`),
    ['0:ar/0:w', '0:draft/2:w', '0:draft/4:w', '1:draft/2:m', '1:draft/4:m', '1:ar/0:m', '2:draft/4:m', '2:ar/0:m', '2:draft/2:m'],
  );
  assert.deepEqual(measured, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(
    runs.get('ar/0')!.map((s) => s.tokensPerSecond),
    [102, 104],
    'warm-up runs are not kept',
  );
  const controller = new AbortController();
  controller.abort(new Error('stop'));
  await assert.rejects(runInterleaved({ configs, repeats: 1, run: async () => summary(1), signal: controller.signal }), /stop/);
});

test('a cell: medians, the speedup over ar, and per-round speedups paired by index', () => {
  const ar = [summary(100), summary(200), summary(100)];
  const cell = benchCell({ strategy: 'draft', gamma: 2 }, [summary(150), summary(220), summary(120, 0.7, 3)], ar);
  assert.equal(cell.runs, 3);
  assert.equal(cell.tokensPerSecond, 150);
  assert.equal(cell.speedup, 1.5, 'median over median');
  assert.equal(cell.speedupMin, 1.1, '220 / 200 in the same round');
  assert.equal(cell.speedupMax, 1.5);
  assert.equal(cell.acceptanceRate, 0.5);
  assert.equal(cell.tokensPerTargetCall, 2);
  const arCell = benchCell({ strategy: 'ar', gamma: 0 }, ar, ar);
  assert.deepEqual([arCell.speedup, arCell.speedupMin, arCell.speedupMax], [1, 1, 1]);
  // A schedule still running: the strategy has a run of a round ar has not reached; the pairing leaves it out.
  const partial = benchCell({ strategy: 'draft', gamma: 2 }, [summary(150), summary(300)], [summary(100)]);
  assert.deepEqual([partial.speedupMin, partial.speedupMax], [1.5, 1.5]);
  const cells = benchCells(benchConfigs(['draft'], [2, 4]), new Map([['draft/2', [summary(150)]]]));
  assert.deepEqual(
    cells.map((c) => benchKey(c)),
    ['draft/2'],
    'only configurations with a run have a cell',
  );
  assert.ok(Number.isNaN(cells[0].speedup), 'no ar run yet: no speedup');
});
