/**
 * The Compare view's charts: α, τ and units/s against γ, one line per strategy, with ar's units/s as a
 * horizontal reference. Pure geometry and formatting, tested without a DOM (tests/renderer/compare.spec.tsx).
 */
import type { CompareCell, CompareResult, Strategy } from '../../../electron/ipc-contract.ts';
import { formatPercent } from './format.ts';
import type { ChartBox } from './sweep-chart.ts';

export type CompareMetric = 'acceptanceRate' | 'tokensPerTargetCall' | 'tokensPerSecond';

/** Each chart's title and the name of its y axis. */
export const COMPARE_METRICS: readonly { metric: CompareMetric; title: string; axis: string }[] = [
  { metric: 'acceptanceRate', title: 'α against γ', axis: 'α (acceptance rate)' },
  { metric: 'tokensPerTargetCall', title: 'τ against γ', axis: 'τ (units per target call)' },
  { metric: 'tokensPerSecond', title: 'units/s against γ', axis: 'units/s' },
];

export interface CompareSeries {
  strategy: Strategy;
  /** The strategy's place in the comparison: its line's colour and dash. */
  index: number;
  points: { x: number; y: number; gamma: number; value: number }[];
  path: string;
}

export interface CompareChartData {
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  series: CompareSeries[];
  /** ar's units/s, on the units/s chart once ar has a run. */
  reference: { y: number; label: string } | null;
}

/** A value as the charts and the table show it: α as a percentage, τ with two decimals, units/s whole. */
export function formatMetric(metric: CompareMetric, value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (metric === 'acceptanceRate') return formatPercent(value, 1);
  if (metric === 'tokensPerTargetCall') return value.toFixed(2);
  return value.toFixed(0);
}

/** The ar cell, when ar has a run. */
export function baselineCell(result: CompareResult): CompareCell | undefined {
  return result.cells.find((c) => c.strategy === 'ar');
}

/**
 * An axis from 0 for values up to `max`: a step of 1, 2, 2.5 or 5 times a power of ten that gives at
 * most `ticks` steps, and the first multiple of it at or above `max`.
 */
export function niceScale(max: number, ticks = 4): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const power = 10 ** Math.floor(Math.log10(max / ticks));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => max / s <= ticks) ?? 10 * power;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

export function compareChartData(metric: CompareMetric, result: CompareResult, box: ChartBox): CompareChartData {
  const gammas = [...result.gammas].sort((a, b) => a - b);
  const g0 = gammas[0] ?? 1;
  const g1 = gammas.at(-1) ?? g0;
  const plotW = box.width - box.padding.left - box.padding.right;
  const plotH = box.height - box.padding.top - box.padding.bottom;
  const x = (gamma: number): number => box.padding.left + (g1 === g0 ? plotW / 2 : ((gamma - g0) / (g1 - g0)) * plotW);

  // The drafting cells at a fixed gamma (the x axis); the Compare view asks for no adaptive ones.
  const drafted = result.cells.filter((c): c is CompareCell & { gamma: number } => c.strategy !== 'ar' && typeof c.gamma === 'number');
  const values = drafted.map((c) => c[metric]).filter(Number.isFinite);
  const reference = metric === 'tokensPerSecond' ? baselineCell(result)?.tokensPerSecond : undefined;
  // α is a probability; τ is at least 1 (the target's own unit); units/s leaves room above the highest.
  const scale =
    metric === 'acceptanceRate'
      ? { top: 1, step: 0.25 }
      : metric === 'tokensPerTargetCall'
        ? niceScale(Math.max(1, ...values))
        : niceScale(Math.max(0, ...values, reference ?? 0) * 1.05);
  const { top } = scale;
  const y = (value: number): number => box.padding.top + plotH - (Math.max(0, Math.min(value, top)) / top) * plotH;

  const series = result.strategies.map((strategy, index): CompareSeries => {
    const points = drafted
      .filter((c) => c.strategy === strategy && Number.isFinite(c[metric]))
      .sort((a, b) => a.gamma - b.gamma)
      .map((c) => ({ x: x(c.gamma), y: y(c[metric]), gamma: c.gamma, value: c[metric] }));
    const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join('');
    return { strategy, index, points, path };
  });
  const yTicks: { y: number; label: string }[] = [];
  for (let i = 0; i * scale.step <= top * (1 + 1e-9); i++) {
    const value = i * scale.step;
    yTicks.push({ y: y(value), label: metric === 'acceptanceRate' ? `${Math.round(value * 100)}%` : String(Number(value.toPrecision(6))) });
  }
  return {
    xTicks: gammas.map((g) => ({ x: x(g), label: String(g) })),
    yTicks,
    series,
    reference: reference !== undefined && Number.isFinite(reference) ? { y: y(reference), label: `ar ${reference.toFixed(0)} units/s` } : null,
  };
}
