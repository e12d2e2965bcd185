import { describe, expect, it } from 'vitest';
import type { SweepPoint, SweepResult } from '../../electron/ipc-contract.ts';
import { niceMax, sweepChartData, type ChartBox } from '../../renderer/src/lib/sweep-chart.ts';

const BOX: ChartBox = { width: 300, height: 150, padding: { top: 10, right: 10, bottom: 20, left: 40 } };
const BOTTOM = BOX.height - BOX.padding.bottom;

function point(gamma: number, tokensPerSecond: number, acceptanceRate = 0.75): SweepPoint {
  return { gamma, tokensPerSecond, acceptanceRate, meanAcceptedTokens: 2, costRatio: 0.1, measuredSpeedup: tokensPerSecond / 100, theoreticalSpeedup: 1 };
}

const points = [1, 2, 3, 4, 5, 6, 7, 8].map((g) => point(g, 100 + 40 * g - 5 * g * g));
const result: SweepResult = {
  strategy: 'early-exit',
  baselineTokensPerSecond: 100,
  points,
  theory: { alpha: 0.75, costRatio: 0.1, curve: [1, 2, 3, 4, 5, 6, 7, 8].map((g) => ({ gamma: g, speedup: 1 + g / 10, tokensPerSecond: 100 * (1 + g / 10) })) },
  bestGamma: 4,
};

describe('niceMax', () => {
  it('rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(0.7)).toBe(1);
    expect(niceMax(180)).toBe(200);
    expect(niceMax(201)).toBe(250);
    expect(niceMax(420)).toBe(500);
    expect(niceMax(999)).toBe(1000);
  });
});

describe('sweepChartData', () => {
  it('places gamma 1…8 across the plot and tokens/s from the bottom up', () => {
    const data = sweepChartData('tokensPerSecond', points, result, BOX);
    expect(data.xTicks.map((t) => t.label)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(data.xTicks[0].x).toBe(BOX.padding.left);
    expect(data.xTicks[7].x).toBe(BOX.width - BOX.padding.right);
    expect(data.yTicks[0]).toEqual({ y: BOTTOM, label: '0' });
    const top = Number(data.yTicks.at(-1)!.label);
    expect(top).toBeGreaterThanOrEqual(Math.max(...points.map((p) => p.tokensPerSecond), ...result.theory.curve.map((c) => c.tokensPerSecond)));
    const p4 = data.measured.points[3];
    expect(p4.value).toBe(180);
    expect(p4.y).toBeCloseTo(BOTTOM - (180 / top) * (BOTTOM - BOX.padding.top), 6);
    expect(data.measured.path.startsWith('M40.0 ')).toBe(true);
    expect(data.measured.path.match(/L/g)).toHaveLength(7);
  });

  it('draws the theory curve beside the measured one, the ar baseline, and marks the best gamma', () => {
    const data = sweepChartData('tokensPerSecond', points, result, BOX);
    expect(data.theory?.points.map((p) => p.value)).toEqual(result.theory.curve.map((c) => c.tokensPerSecond));
    expect(data.reference?.label).toBe('ar 100 tok/s');
    expect(data.best).toMatchObject({ gamma: 4, x: data.measured.points[3].x, y: data.measured.points[3].y });
  });

  it('charts α on a fixed 0–100% axis with the fitted α as its theory', () => {
    const data = sweepChartData('acceptanceRate', points, result, BOX);
    expect(data.yTicks.map((t) => t.label)).toEqual(['0%', '25%', '50%', '75%', '100%']);
    expect(new Set(data.theory!.points.map((p) => p.value))).toEqual(new Set([0.75]));
    expect(data.reference).toBeNull();
    expect(data.best).toBeNull();
  });

  it('draws partial sweeps (no result yet) without theory', () => {
    const data = sweepChartData('tokensPerSecond', points.slice(0, 3), null, BOX);
    expect(data.measured.points).toHaveLength(3);
    expect(data.theory).toBeNull();
    expect(data.reference).toBeNull();
  });
});
