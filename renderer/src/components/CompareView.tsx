import { useEffect, useId } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { CompareCell, CompareResult, LIMITS, StrategyInfo } from '../../../electron/ipc-contract.ts';
import { cancelCompare, exportCompareResults, loadStrategies, runCompare, setCompareChoice, toggleCompare } from '../actions.ts';
import { COMPARE_METRICS, compareChartData, formatMetric, type CompareMetric } from '../lib/compare-chart.ts';
import { formatNumber, formatSpeedup, plural, strategyLabel } from '../lib/format.ts';
import type { ChartBox } from '../lib/sweep-chart.ts';
import { useStudio, type CompareChoice, type CompareSlice } from '../store/state.ts';

/** Measured rounds of one comparison at most (the contract's LIMITS.compareRepeatsMax; the type keeps them equal). */
const REPEATS_MAX: (typeof LIMITS)['compareRepeatsMax'] = 20;
const BOX: ChartBox = { width: 300, height: 160, padding: { top: 10, right: 12, bottom: 32, left: 46 } };

/**
 * The Compare view: the chosen strategies over a list of γ on the current text, with ar as the
 * baseline, measured as `spear bench` measures (the service runs the core's interleaved schedule).
 * α, τ and units/s against γ are charted as the cells arrive, and tabled.
 */
export function CompareView() {
  const view = useStudio(
    useShallow((s) => ({
      available: s.compareAvailable,
      choice: s.compareChoice,
      status: s.compareStatus,
      progress: s.compareProgress,
      result: s.compareResult,
      error: s.compareError,
      exportMessage: s.compareExportMessage,
      canExport: s.compareJobId !== null && (s.compareResult?.cells.length ?? 0) > 0,
      sentences: s.text.trim() === '' ? 0 : s.sentences.length,
    })),
  );
  useEffect(() => {
    if (useStudio.getState().compareAvailable === null) void loadStrategies();
  }, []);
  return <CompareBody {...view} />;
}

export interface CompareBodyProps {
  available: StrategyInfo[] | null;
  choice: CompareChoice | null;
  status: CompareSlice['compareStatus'];
  progress: CompareSlice['compareProgress'];
  result: CompareResult | null;
  error: string | null;
  exportMessage: CompareSlice['compareExportMessage'];
  /** A comparison with at least one cell to export. */
  canExport: boolean;
  /** Sentences of the current text (0: no text). */
  sentences: number;
}

/** What the view shows, from the store's compare slice. */
export function CompareBody({ available, choice, status, progress, result, error, exportMessage, canExport, sentences }: CompareBodyProps) {
  const running = status === 'running' || status === 'starting';
  const drafting = (available ?? []).filter((s) => s.gammas.length > 0);
  const strategyOrder = drafting.map((s) => s.strategy);
  const gammaOrder = [...new Set(drafting.flatMap((s) => s.gammas))].sort((a, b) => a - b);
  const missing =
    sentences === 0 ? 'Type, paste or drop a text first.' : !choice?.strategies.length ? 'Tick a strategy.' : !choice.gammas.length ? 'Tick a γ.' : null;
  return (
    <div className="compare" data-testid="compare-view">
      <p className="muted small">
        Runs ar (the baseline) and each ticked strategy at each ticked γ on the current text
        {sentences > 0 ? ` (${plural(sentences, 'sentence')})` : ''}, as <code>spear bench</code> does: a warm-up pass on the first sentence, then each repeat
        runs every configuration once, in an order rotated each time; one sentence at a time, each read once.
      </p>
      {available === null || choice === null ? (
        <p className="muted">{error ?? 'Reading the strategies the voice runs…'}</p>
      ) : (
        <form
          className="compare-form"
          onSubmit={(e) => {
            e.preventDefault();
            void (running ? cancelCompare() : runCompare());
          }}
        >
          <fieldset>
            <legend>Strategies</legend>
            <label className="muted">
              <input type="checkbox" checked disabled /> ar (baseline, always run)
            </label>
            {strategyOrder.map((s) => (
              <label key={s}>
                <input
                  type="checkbox"
                  name="compare-strategy"
                  value={s}
                  checked={choice.strategies.includes(s)}
                  disabled={running}
                  onChange={() => toggleCompare('strategies', s, strategyOrder)}
                />{' '}
                {strategyLabel(s)}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>γ (drafted units per step)</legend>
            {gammaOrder.map((g) => (
              <label key={g}>
                <input
                  type="checkbox"
                  name="compare-gamma"
                  value={g}
                  checked={choice.gammas.includes(g)}
                  disabled={running}
                  onChange={() => toggleCompare('gammas', g, gammaOrder)}
                />{' '}
                {g}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Runs</legend>
            <label htmlFor="compare-repeats">Repeats</label>
            <input
              id="compare-repeats"
              type="number"
              min={1}
              max={REPEATS_MAX}
              value={choice.repeats}
              disabled={running}
              onChange={(e) => setCompareChoice({ repeats: Math.min(REPEATS_MAX, Math.max(1, Math.round(Number(e.target.value) || 1))) })}
            />
            <label htmlFor="compare-temperature">Temperature</label>
            <input
              id="compare-temperature"
              type="number"
              min={0}
              max={10}
              step={0.1}
              value={choice.temperature}
              disabled={running}
              onChange={(e) => setCompareChoice({ temperature: Math.min(10, Math.max(0, Number(e.target.value) || 0)) })}
            />
          </fieldset>
          <div className="actions">
            <button type="submit" className={running ? undefined : 'primary'} disabled={!running && missing !== null} data-testid="run-compare">
              {running ? 'Cancel' : 'Run'}
            </button>
            <button type="button" disabled={!canExport} onClick={() => void exportCompareResults('json')} data-testid="export-compare-json">
              Export JSON
            </button>
            <button type="button" disabled={!canExport} onClick={() => void exportCompareResults('csv')} data-testid="export-compare-csv">
              Export CSV
            </button>
            {!running && missing && <span className="muted small">{missing}</span>}
          </div>
        </form>
      )}
      {running && progress && (
        <div className="progress-line" role="status" data-testid="compare-progress">
          <progress max={progress.total} value={progress.done} aria-label="Comparison progress" /> {progress.done} of {progress.total} runs · next:{' '}
          {progress.label}
        </div>
      )}
      {status === 'canceled' && <p className="muted small">Cancelled; the cells measured so far stay below and can be exported.</p>}
      {status === 'error' && error && (
        <p className="error" role="alert">
          Comparison failed: {error}
        </p>
      )}
      {exportMessage && (
        <p className={`small ${exportMessage.kind === 'error' ? 'error' : 'muted'}`} role={exportMessage.kind === 'error' ? 'alert' : 'status'}>
          {exportMessage.text}
        </p>
      )}
      {result && result.cells.length > 0 && (
        <>
          <div className="compare-charts" data-testid="compare-charts">
            {COMPARE_METRICS.map((m) => (
              <CompareChart key={m.metric} metric={m.metric} title={m.title} axis={m.axis} result={result} />
            ))}
          </div>
          <ul className="compare-legend" aria-label="Lines">
            {result.strategies.map((s, i) => (
              <li key={s}>
                <svg width="26" height="10" aria-hidden="true">
                  <line x1="1" x2="25" y1="5" y2="5" className={`series series-${i % SERIES_STYLES}`} />
                </svg>{' '}
                {strategyLabel(s)}
              </li>
            ))}
            <li>
              <svg width="26" height="10" aria-hidden="true">
                <line x1="1" x2="25" y1="5" y2="5" className="reference" />
              </svg>{' '}
              ar (units/s chart)
            </li>
          </ul>
          <CompareTable result={result} />
        </>
      )}
    </div>
  );
}

/** Line styles the stylesheet defines (.series-0 … .series-5): colour and dash, so lines differ without colour too. */
const SERIES_STYLES = 6;

function CompareChart({ metric, title, axis, result }: { metric: CompareMetric; title: string; axis: string; result: CompareResult }) {
  const id = useId();
  const data = compareChartData(metric, result, BOX);
  const { width, height, padding } = BOX;
  const plotBottom = height - padding.bottom;
  return (
    <figure className="chart compare-chart" data-metric={metric}>
      {/* NOTE: React renders a <title> with more than one child empty, so each <title> below gets one string. */}
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-title`}>
        <title
          id={`${id}-title`}
        >{`${title}, one line per strategy${data.reference ? ', ar as a horizontal line' : ''}; the numbers are in the table below`}</title>
        {data.yTicks.map((t) => (
          <g key={t.label}>
            <line x1={padding.left} x2={width - padding.right} y1={t.y} y2={t.y} className="grid" />
            <text x={padding.left - 4} y={t.y + 3} className="tick" textAnchor="end">
              {t.label}
            </text>
          </g>
        ))}
        {data.xTicks.map((t) => (
          <text key={t.label} x={t.x} y={plotBottom + 12} className="tick" textAnchor="middle">
            {t.label}
          </text>
        ))}
        <text x={padding.left + (width - padding.left - padding.right) / 2} y={height - 4} className="axis-label" textAnchor="middle">
          γ
        </text>
        <text
          x={10}
          y={padding.top + (plotBottom - padding.top) / 2}
          className="axis-label"
          textAnchor="middle"
          transform={`rotate(-90 10 ${padding.top + (plotBottom - padding.top) / 2})`}
        >
          {axis}
        </text>
        {data.reference && (
          <g>
            <line x1={padding.left} x2={width - padding.right} y1={data.reference.y} y2={data.reference.y} className="reference" />
            <text x={width - padding.right} y={data.reference.y - 3} className="tick" textAnchor="end">
              {data.reference.label}
            </text>
          </g>
        )}
        {data.series.map((s) => (
          <g key={s.strategy} className={`series series-${s.index % SERIES_STYLES}`} data-strategy={s.strategy}>
            <path d={s.path} />
            {s.points.map((p) => (
              <circle key={p.gamma} cx={p.x} cy={p.y} r={2.5} className="point">
                <title>{`${strategyLabel(s.strategy)}, γ ${p.gamma}: ${formatMetric(metric, p.value)}`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

function CompareTable({ result }: { result: CompareResult }) {
  const complete = result.runsDone === result.runsTotal;
  const range = (c: CompareCell): string =>
    c.strategy === 'ar' || c.runs < 2 || !Number.isFinite(c.speedupMin) ? '' : ` (${c.speedupMin.toFixed(2)}–${c.speedupMax.toFixed(2)})`;
  return (
    <table className="compare-table" data-testid="compare-table">
      <caption className="muted small">
        {result.machine}, temperature {result.temperature}, median of {plural(result.repeats, 'repeat')}
        {complete ? '' : ` (${result.runsDone} of ${result.runsTotal} runs measured)`}; speedup over ar's median, with the lowest and highest of the repeats'
        own.
      </caption>
      <thead>
        <tr>
          <th scope="col">strategy</th>
          <th scope="col">γ</th>
          <th scope="col">runs</th>
          <th scope="col">units/s</th>
          <th scope="col">speedup</th>
          <th scope="col">α</th>
          <th scope="col">τ</th>
          <th scope="col">c</th>
        </tr>
      </thead>
      <tbody>
        {result.cells.map((c) => (
          <tr key={`${c.strategy}/${c.gamma}`} data-testid="compare-row">
            <th scope="row">{strategyLabel(c.strategy)}</th>
            <td>{c.strategy === 'ar' ? '' : c.gamma}</td>
            <td>{c.runs}</td>
            <td>{formatMetric('tokensPerSecond', c.tokensPerSecond)}</td>
            <td>
              {formatSpeedup(c.speedup)}
              {range(c)}
            </td>
            <td>{c.strategy === 'ar' ? '' : formatMetric('acceptanceRate', c.acceptanceRate)}</td>
            <td>{formatMetric('tokensPerTargetCall', c.tokensPerTargetCall)}</td>
            <td>{c.strategy === 'ar' ? '' : formatNumber(c.costRatio, 3)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
