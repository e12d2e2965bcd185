import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompareCell, CompareOptions, CompareResult, StrategyInfo, StudioApi, StudioEvent } from '../../electron/ipc-contract.ts';
import { CompareBody, type CompareBodyProps } from '../../renderer/src/components/CompareView.tsx';
import { compareChartData, formatMetric, niceScale } from '../../renderer/src/lib/compare-chart.ts';
import type { ChartBox } from '../../renderer/src/lib/sweep-chart.ts';
import { applyEvents } from '../../renderer/src/store/apply-events.ts';
import { initialState, type StudioState } from '../../renderer/src/store/state.ts';

const BOX: ChartBox = { width: 300, height: 150, padding: { top: 10, right: 10, bottom: 20, left: 40 } };
const BOTTOM = BOX.height - BOX.padding.bottom;

function cell(strategy: CompareCell['strategy'], gamma: number, tokensPerSecond: number, acceptanceRate: number, tokensPerTargetCall: number): CompareCell {
  return {
    strategy,
    gamma,
    runs: 2,
    sentences: 3,
    tokens: 300,
    seconds: 1,
    tokensPerSecond,
    speedup: tokensPerSecond / 800,
    speedupMin: tokensPerSecond / 820,
    speedupMax: tokensPerSecond / 780,
    acceptanceRate,
    tokensPerTargetCall,
    meanDrafted: gamma,
    costRatio: strategy === 'ar' ? 0 : 0.125,
    theoreticalSpeedup: 1.2,
    rtf: 0.1,
    timeToFirstAudioMs: 40,
  };
}

const RESULT: CompareResult = {
  strategies: ['eagle', 'early-exit'],
  gammas: [2, 4, 6],
  repeats: 2,
  temperature: 0,
  machine: 'AMD EPYC, 2 cores',
  runsDone: 12,
  runsTotal: 14,
  cells: [
    cell('ar', 0, 800, 0, 1),
    // Out of gamma order on purpose: a line runs by gamma.
    cell('eagle', 4, 1100, 0.8, 3.1),
    cell('eagle', 2, 1000, 0.85, 2.5),
    cell('eagle', 6, 1050, 0.75, 3.4),
    cell('early-exit', 2, 700, 0.6, 2.0),
  ],
};

describe('the compare charts', () => {
  it('α: gamma across the asked range, 0–100% up the side, one line per strategy in gamma order', () => {
    const data = compareChartData('acceptanceRate', RESULT, BOX);
    expect(data.xTicks.map((t) => t.label)).toEqual(['2', '4', '6']);
    expect(data.xTicks[0].x).toBe(BOX.padding.left);
    expect(data.xTicks[2].x).toBe(BOX.width - BOX.padding.right);
    expect(data.yTicks.map((t) => t.label)).toEqual(['0%', '25%', '50%', '75%', '100%']);
    expect(data.series.map((s) => [s.strategy, s.index])).toEqual([
      ['eagle', 0],
      ['early-exit', 1],
    ]);
    const eagle = data.series[0];
    expect(eagle.points.map((p) => p.gamma)).toEqual([2, 4, 6]);
    expect(eagle.points[0].y).toBeCloseTo(BOTTOM - 0.85 * (BOTTOM - BOX.padding.top));
    expect(eagle.path).toMatch(/^M40\.0 \d+\.\dL165\.0 \d+\.\dL290\.0 \d+\.\d$/);
    // early-exit has a cell at gamma 2 only so far: one point, no line yet to draw through others.
    expect(data.series[1].points.map((p) => p.gamma)).toEqual([2]);
    expect(data.reference).toBeNull();
  });

  it('units/s: ar is the horizontal reference, and the axis leaves room above the highest value', () => {
    const data = compareChartData('tokensPerSecond', RESULT, BOX);
    const top = Number(data.yTicks.at(-1)!.label);
    expect(top).toBeGreaterThanOrEqual(1100);
    expect(data.reference?.label).toBe('ar 800 units/s');
    expect(data.reference?.y).toBeCloseTo(BOTTOM - (800 / top) * (BOTTOM - BOX.padding.top));
    expect(data.series[0].points.find((p) => p.gamma === 4)!.y).toBeLessThan(data.reference!.y);
    expect(data.series[1].points[0].y).toBeGreaterThan(data.reference!.y);
  });

  it('τ: whole-unit ticks from 0 past the highest τ; ar is drawn on no τ or α chart', () => {
    const data = compareChartData('tokensPerTargetCall', RESULT, BOX);
    expect(data.yTicks.map((t) => t.label)).toEqual(['0', '1', '2', '3', '4']);
    expect(data.yTicks[0].y).toBe(BOTTOM);
    expect(data.yTicks.at(-1)!.y).toBe(BOX.padding.top);
    expect(data.series.flatMap((s) => s.points)).toHaveLength(4);
  });

  it('an axis steps by 1, 2, 2.5 or 5 times a power of ten, at most four steps, up to the first step past the highest value', () => {
    expect(niceScale(2.2)).toEqual({ top: 3, step: 1 });
    expect(niceScale(1155)).toEqual({ top: 1500, step: 500 });
    expect(niceScale(840)).toEqual({ top: 1000, step: 250 });
    expect(niceScale(9)).toEqual({ top: 10, step: 2.5 });
    expect(niceScale(4)).toEqual({ top: 4, step: 1 });
    expect(niceScale(0)).toEqual({ top: 1, step: 0.25 });
  });

  it('one gamma: its points sit in the middle', () => {
    const data = compareChartData('acceptanceRate', { ...RESULT, gammas: [3], cells: [cell('eagle', 3, 900, 0.8, 2.6)] }, BOX);
    expect(data.series[0].points[0].x).toBe(BOX.padding.left + (BOX.width - BOX.padding.left - BOX.padding.right) / 2);
  });

  it('formats α as a percentage, τ with two decimals, units/s whole', () => {
    expect(formatMetric('acceptanceRate', 0.8123)).toBe('81.2%');
    expect(formatMetric('tokensPerTargetCall', 3.146)).toBe('3.15');
    expect(formatMetric('tokensPerSecond', 1099.6)).toBe('1100');
    expect(formatMetric('tokensPerSecond', Number.NaN)).toBe('–');
  });
});

/** The strategies a voice without a draft model runs: the view offers these and no others. */
const AVAILABLE: StrategyInfo[] = [
  { strategy: 'ar', gammas: [] },
  { strategy: 'early-exit', gammas: [1, 2, 3, 4, 5, 6, 7, 8] },
  { strategy: 'eagle', gammas: [1, 2, 3, 4, 5, 6, 7, 8] },
];
const VIEW: CompareBodyProps = {
  available: AVAILABLE,
  choice: { strategies: ['early-exit', 'eagle'], gammas: [2, 4, 6], repeats: 2, temperature: 0 },
  status: 'idle',
  progress: null,
  result: null,
  error: null,
  exportMessage: null,
  canExport: false,
  sentences: 3,
};
const render = (props: Partial<CompareBodyProps>): string => renderToStaticMarkup(<CompareBody {...VIEW} {...props} />);

describe('the compare view', () => {
  it('offers the strategies the voice runs and its gammas as boxes, ar always on; Run needs a text, a strategy and a γ', () => {
    const html = render({});
    expect(html.match(/name="compare-strategy"/g)).toHaveLength(2);
    expect(html).toContain('name="compare-strategy" checked="" value="early-exit"');
    expect(html).not.toContain('value="draft"');
    expect(html).toMatch(/<input type="checkbox" disabled="" checked=""\/> ar \(baseline, always run\)/);
    expect(html.match(/name="compare-gamma"/g)).toHaveLength(8);
    expect(html).toContain('name="compare-gamma" checked="" value="4"');
    expect(html).toContain('name="compare-gamma" value="5"/>');
    expect(html).toMatch(/<button type="submit" class="primary" data-testid="run-compare">Run<\/button>/);
    expect(html).toContain('(3 sentences)');
    expect(render({ sentences: 0 })).toMatch(/disabled=""[^>]*data-testid="run-compare"[\s\S]*Type, paste or drop a text first\./);
    expect(render({ choice: { ...VIEW.choice!, gammas: [] } })).toContain('Tick a γ.');
    expect(render({ available: null, choice: null })).toContain('Reading the strategies the voice runs…');
    expect(html).not.toContain('data-testid="compare-charts"');
  });

  it('while running: Cancel, the boxes locked, and the progress; then three charts and the table fill', () => {
    const html = render({ status: 'running', progress: { done: 7, total: 21, label: 'repeat 1 of 2: eagle γ 4' }, result: RESULT, canExport: true });
    expect(html).toMatch(/<button type="submit" data-testid="run-compare">Cancel<\/button>/);
    expect(html).toContain('disabled="" name="compare-strategy" checked="" value="eagle"');
    expect(html).toContain('7 of 21 runs · next: repeat 1 of 2: eagle γ 4');
    expect(html.match(/<figure class="chart compare-chart"/g)).toHaveLength(3);
    expect(html.match(/<svg viewBox="0 0 300 160" role="img" aria-labelledby="[^"]+-title">/g)).toHaveLength(3);
    expect(html).toContain('-title">units/s against γ, one line per strategy, ar as a horizontal line; the numbers are in the table below</title>');
    expect(html).toContain('<title>EAGLE, γ 4: 80.0%</title>');
    expect(html).toContain('>α (acceptance rate)</text>');
    expect(html.match(/data-testid="compare-row"/g)).toHaveLength(5);
    expect(html).toContain('<th scope="row">EAGLE</th><td>4</td><td>2</td><td>1100</td><td>1.38× (1.34–1.41)</td><td>80.0%</td><td>3.10</td><td>0.125</td>');
    expect(html).toContain('(12 of 14 runs measured)');
    expect(html).not.toMatch(/disabled=""[^>]*data-testid="export-compare-json"/);
  });
});

describe('compare events', () => {
  const running: StudioState = { ...initialState(), compareJobId: 'c1', compareStatus: 'starting' };
  const progress = (jobId: string, runsDone: number): StudioEvent => ({
    type: 'compare-progress',
    jobId,
    done: runsDone + 3,
    total: 21,
    label: 'x',
    result: { ...RESULT, runsDone },
  });

  it('progress writes the cells so far; done the final ones; other jobs are ignored', () => {
    expect(applyEvents(running, [progress('c1', 2)])).toMatchObject({
      compareStatus: 'running',
      compareProgress: { done: 5, total: 21, label: 'x' },
      compareResult: { runsDone: 2 },
    });
    expect(applyEvents(running, [progress('other', 2)])).toEqual({});
    const done = applyEvents(running, [progress('c1', 2), { type: 'compare-done', jobId: 'c1', result: { ...RESULT, runsDone: 14 } }]);
    expect(done).toMatchObject({ compareStatus: 'done', compareProgress: null, compareResult: { runsDone: 14 } });
  });

  it('a cancel keeps what was measured; a late progress event does not restart it; an error is shown in words', () => {
    const canceled = applyEvents(running, [progress('c1', 4), { type: 'job-canceled', jobId: 'c1' }, progress('c1', 5)]);
    expect(canceled).toMatchObject({ compareStatus: 'canceled', compareProgress: null, compareResult: { runsDone: 4 } });
    expect(applyEvents(running, [{ type: 'job-error', jobId: 'c1', message: 'CompareRequestError: compare: boom' }])).toMatchObject({
      compareStatus: 'error',
      compareError: 'compare: boom',
    });
  });
});

describe('compare actions', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('asks the service what the voice runs, ticks all of it, and sends what is ticked', async () => {
    const sent: CompareOptions[] = [];
    const api: Partial<StudioApi> = {
      listStrategies: async () => AVAILABLE,
      compare: async (_doc, options) => (sent.push(options), 'c9'),
      exportCompare: async (_id, format) => ({ status: 'saved', path: `/home/me/spear-compare.${format}`, bytes: 120 }),
    };
    vi.stubGlobal('window', { spear: api });
    const { useStudio } = await import('../../renderer/src/store/state.ts');
    const actions = await import('../../renderer/src/actions.ts');
    await actions.loadStrategies();
    expect(useStudio.getState().compareChoice).toEqual({ strategies: ['early-exit', 'eagle'], gammas: [1, 2, 3, 4, 5, 6, 7, 8], repeats: 1, temperature: 0 });

    const order = ['early-exit', 'eagle'] as const;
    actions.toggleCompare('strategies', 'early-exit', order);
    actions.toggleCompare('gammas', 5, [1, 2, 3, 4, 5, 6, 7, 8]);
    actions.toggleCompare('strategies', 'early-exit', order);
    actions.setCompareChoice({ repeats: 3, temperature: 0.7 });
    await actions.runCompare();
    expect(useStudio.getState().compareStatus).toBe('error');
    expect(sent).toEqual([]);

    useStudio.setState({ text: 'One. Two.' });
    await actions.runCompare();
    expect(sent).toEqual([{ strategies: ['early-exit', 'eagle'], gammas: [1, 2, 3, 4, 6, 7, 8], repeats: 3, temperature: 0.7 }]);
    expect(useStudio.getState()).toMatchObject({ compareJobId: 'c9', compareStatus: 'starting', compareError: null });

    await actions.exportCompareResults('csv');
    expect(useStudio.getState().compareExportMessage).toEqual({ kind: 'info', text: 'Saved /home/me/spear-compare.csv' });
  });
});
