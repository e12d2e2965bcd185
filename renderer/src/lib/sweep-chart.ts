/**
 * The sweep chart's geometry: scales, ticks, and paths for measured points and the theoretical curve.
 * Pure, so the chart's data is tested without a DOM (tests/renderer/sweep-chart.spec.ts).
 */
import type { SweepPoint, SweepResult } from '../../../electron/ipc-contract.ts';

export interface ChartBox {
  width: number;
  height: number;
  /** Room for axes and labels. */
  padding: { top: number; right: number; bottom: number; left: number };
}

export interface Series {
  label: string;
  points: { x: number; y: number; gamma: number; value: number }[];
  path: string;
}

export interface ChartData {
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  measured: Series;
  theory: Series | null;
  /** A horizontal reference (the ar baseline on the tokens/s chart). */
  reference: { y: number; label: string } | null;
  best: { x: number; y: number; gamma: number } | null;
}

/** A "nice" upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten, at or above `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= max) return m * power;
  return 10 * power;
}

function linePath(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join('');
}

export type Metric = 'tokensPerSecond' | 'acceptanceRate';

/**
 * One chart: `metric` against gamma. For tokens/s the theory is the sweep's Theorem 3.8 curve
 * (baseline × speedup); for α it is the pooled α the curve assumes (flat: the i.i.d. model's α does
 * not depend on gamma).
 */
export function sweepChartData(
  metric: Metric,
  points: readonly SweepPoint[],
  result: SweepResult | null,
  box: ChartBox,
  gammaRange: readonly [number, number] = [1, 8],
): ChartData {
  const [g0, g1] = gammaRange;
  const plotW = box.width - box.padding.left - box.padding.right;
  const plotH = box.height - box.padding.top - box.padding.bottom;
  const x = (gamma: number): number => box.padding.left + (g1 === g0 ? plotW / 2 : ((gamma - g0) / (g1 - g0)) * plotW);

  const theoryValues =
    result === null
      ? []
      : metric === 'tokensPerSecond'
        ? result.theory.curve.map((c) => ({ gamma: c.gamma, value: c.tokensPerSecond }))
        : result.theory.curve.map((c) => ({ gamma: c.gamma, value: result.theory.alpha }));
  const measuredValues = points.map((p) => ({ gamma: p.gamma, value: p[metric] }));
  const reference = metric === 'tokensPerSecond' && result ? result.baselineTokensPerSecond : undefined;
  const top =
    metric === 'acceptanceRate' ? 1 : niceMax(Math.max(0, ...measuredValues.map((v) => v.value), ...theoryValues.map((v) => v.value), reference ?? 0) * 1.05);
  const y = (value: number): number => box.padding.top + plotH - (Math.max(0, Math.min(value, top)) / top) * plotH;

  const series = (label: string, values: { gamma: number; value: number }[]): Series => {
    const pts = values.map((v) => ({ x: x(v.gamma), y: y(v.value), gamma: v.gamma, value: v.value }));
    return { label, points: pts, path: linePath(pts) };
  };
  const xTicks = [];
  for (let g = g0; g <= g1; g++) xTicks.push({ x: x(g), label: String(g) });
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({
    y: y(top * f),
    label: metric === 'acceptanceRate' ? `${Math.round(f * 100)}%` : String(Math.round(top * f * 10) / 10),
  }));
  const bestPoint = result && metric === 'tokensPerSecond' ? points.find((p) => p.gamma === result.bestGamma) : undefined;
  return {
    xTicks,
    yTicks,
    measured: series('measured', measuredValues),
    theory: theoryValues.length > 0 ? series('theory (Leviathan et al. Thm 3.8)', theoryValues) : null,
    reference: reference !== undefined ? { y: y(reference), label: `ar ${reference.toFixed(0)} tok/s` } : null,
    best: bestPoint ? { x: x(bestPoint.gamma), y: y(bestPoint.tokensPerSecond), gamma: bestPoint.gamma } : null,
  };
}
