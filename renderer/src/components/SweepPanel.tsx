import { useShallow } from 'zustand/react/shallow';
import type { SweepPoint, SweepResult } from '../../../electron/ipc-contract.ts';
import { applyBestGamma, cancelSweep, runSweep } from '../actions.ts';
import { sweepChartData, type ChartBox, type Metric } from '../lib/sweep-chart.ts';
import { formatPercent, formatSpeedup, strategyLabel } from '../lib/format.ts';
import { useStudio } from '../store/state.ts';

const BOX: ChartBox = { width: 300, height: 118, padding: { top: 8, right: 10, bottom: 20, left: 40 } };

export function SweepPanel() {
  const { status, progress, points, result, error, hasText, strategy } = useStudio(
    useShallow((s) => ({
      status: s.sweepStatus,
      progress: s.sweepProgress,
      points: s.sweepPoints,
      result: s.sweepResult,
      error: s.sweepError,
      hasText: s.text.trim() !== '',
      strategy: s.tuning.strategy,
    })),
  );
  const running = status === 'running' || status === 'starting';
  return (
    <section className="panel sweep" aria-labelledby="sweep-heading">
      <h2 id="sweep-heading">Gamma sweep</h2>
      <p className="muted small">
        Runs ar once, then {strategyLabel(strategy === 'ar' ? 'early-exit' : strategy)} at γ = 1…8 (Medusa: up to its heads) on the current text.
      </p>
      <div className="actions">
        <button type="button" onClick={() => void runSweep()} disabled={!hasText || running} data-testid="run-sweep">
          Run sweep
        </button>
        {running && (
          <button type="button" onClick={() => void cancelSweep()}>
            Cancel
          </button>
        )}
        <button type="button" className="primary" disabled={!result} onClick={applyBestGamma} data-testid="apply-best">
          Apply best gamma{result ? ` (γ = ${result.bestGamma})` : ''}
        </button>
      </div>
      {running && progress && (
        <div className="progress-line" role="status">
          <progress max={progress.total} value={progress.done} /> {progress.label}
        </div>
      )}
      {status === 'error' && (
        <p className="error" role="alert">
          Sweep failed: {error}
        </p>
      )}
      {points.length > 0 && (
        <div className="charts" data-testid="sweep-chart">
          <Chart metric="tokensPerSecond" title="tokens/s against γ" points={points} result={result} />
          <Chart metric="acceptanceRate" title="α against γ" points={points} result={result} />
          {result && <SweepTable result={result} />}
        </div>
      )}
    </section>
  );
}

function Chart({ metric, title, points, result }: { metric: Metric; title: string; points: SweepPoint[]; result: SweepResult | null }) {
  const data = sweepChartData(metric, points, result, BOX);
  const { width, height, padding } = BOX;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: measured${data.theory ? ' and theoretical' : ''}`}>
        {data.yTicks.map((t) => (
          <g key={t.label}>
            <line x1={padding.left} x2={width - padding.right} y1={t.y} y2={t.y} className="grid" />
            <text x={padding.left - 4} y={t.y + 3} className="tick" textAnchor="end">
              {t.label}
            </text>
          </g>
        ))}
        {data.xTicks.map((t) => (
          <text key={t.label} x={t.x} y={height - padding.bottom + 14} className="tick" textAnchor="middle">
            {t.label}
          </text>
        ))}
        {data.reference && (
          <g>
            <line x1={padding.left} x2={width - padding.right} y1={data.reference.y} y2={data.reference.y} className="reference" />
            <text x={width - padding.right} y={data.reference.y - 3} className="tick" textAnchor="end">
              {data.reference.label}
            </text>
          </g>
        )}
        {data.theory && <path d={data.theory.path} className="theory" />}
        <path d={data.measured.path} className="measured" />
        {data.measured.points.map((p) => (
          <circle key={p.gamma} cx={p.x} cy={p.y} r={3} className="measured-point">
            {/* NOTE: React renders a <title> with more than one child empty: one string. */}
            <title>{`γ ${p.gamma}: ${metric === 'acceptanceRate' ? formatPercent(p.value) : `${p.value.toFixed(0)} tok/s`}`}</title>
          </circle>
        ))}
        {data.best && <circle cx={data.best.x} cy={data.best.y} r={6} className="best" />}
      </svg>
      <figcaption>
        {title} — <span className="legend measured">measured</span>
        {data.theory && <span className="legend theory">theory (Thm 3.8)</span>}
      </figcaption>
    </figure>
  );
}

function SweepTable({ result }: { result: SweepResult }) {
  return (
    <p className="muted small">
      Fitted α {formatPercent(result.theory.alpha)}, c {result.theory.costRatio.toFixed(3)}; best γ = {result.bestGamma} at{' '}
      {formatSpeedup(result.points.find((p) => p.gamma === result.bestGamma)?.measuredSpeedup)} over ar.
    </p>
  );
}
