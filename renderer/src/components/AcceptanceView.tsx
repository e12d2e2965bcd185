import { memo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { acceptanceRate, meanAcceptedTokens, speedupOverAr, tokensPerSecond, type RunningStats, type StepView } from '../lib/decode-stats.ts';
import type { ReadingCheckResult } from '../../../electron/ipc-contract.ts';
import { formatNumber, formatPercent, formatSpeedup, rereadingVerdict, strategyLabel } from '../lib/format.ts';
import { useStudio, type SentenceProgress, type StudioState } from '../store/state.ts';
import { pinSentence } from '../actions.ts';

/** The sentence the view shows: the one the user pinned, else the first still decoding, else the last decoded. */
export function followedSentence(s: Pick<StudioState, 'pinned' | 'active' | 'perSentence'>): number | null {
  if (s.pinned !== null) return s.pinned;
  if (s.active !== null) return s.active;
  const keys = Object.keys(s.perSentence).map(Number);
  return keys.length > 0 ? Math.max(...keys) : null;
}

/** ar tokens/s for this text, when the last sweep ran on it. */
/** The last sweep's measured speedup for this text, strategy and gamma, where it ran them. */
function sweptSpeedup(s: StudioState): number | undefined {
  const sweep = s.sweepResult;
  if (!sweep || s.sweepText !== s.jobText || sweep.strategy !== s.strategy) return undefined;
  return sweep.points.find((p) => p.gamma === s.gamma)?.measuredSpeedup;
}

export function AcceptanceView() {
  const { status, strategy, gamma, totals, error, summary, swept, followed, progress, sentenceText, pinned } = useStudio(
    useShallow((s) => {
      const followed = followedSentence(s);
      return {
        status: s.status,
        strategy: s.strategy,
        gamma: s.gamma,
        totals: s.totals,
        error: s.error,
        summary: s.summary,
        swept: sweptSpeedup(s),
        followed,
        progress: followed !== null ? s.perSentence[followed] : undefined,
        sentenceText: followed !== null ? s.jobSentences[followed]?.text : undefined,
        pinned: s.pinned,
      };
    }),
  );
  const speedup = strategy === 'ar' ? { value: 1, measured: true } : speedupOverAr(totals, swept);

  return (
    <section className="panel acceptance" aria-labelledby="acceptance-heading">
      <h2 id="acceptance-heading">
        Draft acceptance{' '}
        <span className="muted">
          — {strategyLabel(strategy)}
          {strategy !== 'ar' && `, γ = ${gamma}`}
        </span>
      </h2>
      <StatusLine status={status} error={error} />
      <div className="tiles" data-testid="running-stats">
        <Tile label="α (acceptance)" value={formatPercent(acceptanceRate(totals))} title="accepted / (accepted + rejections), all sentences so far" />
        <Tile label="τ (tokens/step)" value={formatNumber(meanAcceptedTokens(totals), 2)} title="tokens emitted per verification step" />
        <Tile
          label="tokens/s"
          basis="measured"
          value={formatNumber(summary?.tokensPerSecond ?? tokensPerSecond(totals), 0)}
          title="measured in this run: decoded tokens per second of wall time"
        />
        <Tile
          label="speedup over ar"
          basis={strategy === 'ar' ? undefined : speedup.measured ? 'measured' : 'estimated'}
          value={formatSpeedup(speedup.value)}
          title={
            strategy === 'ar'
              ? 'ar is the baseline: 1× by definition'
              : speedup.measured
                ? `measured by the last sweep of this text: ${strategy} at γ ${gamma} against ar, each reading every sentence once`
                : 'estimated as τ × verify time / (draft + verify time) from this run; run a sweep to measure it against ar'
          }
        />
        <Tile label="steps" value={String(totals.steps)} title="verification steps, all sentences" />
      </div>
      {followed !== null && progress ? (
        <div className="followed">
          <div className="followed-head">
            <span>
              Sentence {followed + 1}
              {progress.units !== null ? ' — done' : ' — decoding'}
              {pinned !== null && (
                <button type="button" className="link" onClick={() => pinSentence(null)}>
                  follow the decoder
                </button>
              )}
            </span>
            <SentenceStats stats={progress.stats} units={progress.units} check={progress.check} />
          </div>
          <p className="followed-text">{sentenceText}</p>
          <ChipLegend />
          <StepList steps={progress.steps} />
        </div>
      ) : (
        <p className="muted empty">Start a synthesis to watch the drafter propose and the target verify, step by step.</p>
      )}
      <SentenceSummaries />
    </section>
  );
}

function StatusLine({ status, error }: { status: StudioState['status']; error: string | null }) {
  const text: Record<StudioState['status'], string> = {
    idle: 'Idle.',
    starting: 'Opening the voice…',
    running: 'Decoding…',
    done: 'Done.',
    canceled: 'Cancelled.',
    error: `Failed: ${error ?? ''}`,
  };
  return (
    <p className={`status status-${status}`} role={status === 'error' ? 'alert' : 'status'} data-testid="job-status">
      {text[status]}
    </p>
  );
}

/** A figure with its name and, where it could be either, whether it is measured or estimated. */
function Tile({ label, value, title, basis }: { label: string; value: string; title: string; basis?: 'measured' | 'estimated' }) {
  return (
    <div className="tile" title={title}>
      <div className="tile-value">{value}</div>
      <div className="tile-label">
        {label}
        {basis && (
          <span className={`basis basis-${basis}`} data-testid={`basis-${label.replace(/\W+/g, '-')}`}>
            {basis}
          </span>
        )}
      </div>
    </div>
  );
}

/** What the chips' colours mean (the same classes as the chips themselves). */
function ChipLegend() {
  return (
    <ul className="chip-legend" data-testid="chip-legend" aria-label="Legend of the step chips">
      <li>
        <span className="chip accepted">12</span> drafted, accepted
      </li>
      <li>
        <span className="chip rejected">12</span> first rejection
      </li>
      <li>
        <span className="chip discarded">12</span> discarded after it
      </li>
      <li>
        <span className="chip token-replacement">12</span> target's replacement
      </li>
      <li>
        <span className="chip token-bonus">12</span> bonus (all accepted)
      </li>
      <li>
        <span className="chip token-ar">12</span> ar token
      </li>
    </ul>
  );
}

function SentenceStats({ stats, units, check }: { stats: RunningStats; units: number | null; check: ReadingCheckResult | null }) {
  return (
    <span className="muted sentence-stats">
      {stats.steps} steps · α {formatPercent(acceptanceRate(stats))} · τ {formatNumber(meanAcceptedTokens(stats), 2)}
      {units !== null && ` · ${units} units`}
      {check !== null && check.rereadings > 0 && (
        <span
          title={`reading check: the first reading scored ${formatNumber(check.score, 2)} nats per phone; the one spoken scores ${formatNumber(check.chosenScore, 2)}`}
        >
          {` · read again: ${rereadingVerdict(check)}`}
        </span>
      )}
    </span>
  );
}

/** Newest step first; each chip is a drafted token, then the token the target added. */
const StepList = memo(function StepList({ steps }: { steps: StepView[] }) {
  return (
    <ol className="steps" data-testid="steps" aria-label="Verification steps, newest first">
      {[...steps].reverse().map((s) => (
        <li key={s.step} className="step">
          <span className="step-no">#{s.step}</span>
          {s.drafted.map((token, i) => {
            const kind = s.rejectedAt === null || i < s.rejectedAt ? 'accepted' : i === s.rejectedAt ? 'rejected' : 'discarded';
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: a chip is the draft's i-th token; the list never reorders
              <span key={i} className={`chip ${kind}`} title={kind === 'rejected' ? 'first rejection' : kind}>
                {token}
              </span>
            );
          })}
          <span className="arrow" aria-hidden="true">
            →
          </span>
          <span
            className={`chip token-${s.tokenKind}`}
            title={
              s.tokenKind === 'bonus'
                ? 'bonus token (all drafts accepted)'
                : s.tokenKind === 'replacement'
                  ? 'replacement drawn after the rejection'
                  : 'ar token'
            }
          >
            {s.token}
          </span>
          <span className="muted step-emitted">+{s.emitted}</span>
        </li>
      ))}
    </ol>
  );
});

function SentenceSummaries() {
  const perSentence = useStudio((s) => s.perSentence);
  const done = Object.entries(perSentence)
    .filter(([, p]) => p.units !== null)
    .map(([k, progress]) => ({ index: Number(k), progress }))
    .sort((a, b) => a.index - b.index);
  if (done.length === 0) return null;
  return (
    <details className="summaries" open>
      <summary>Per-sentence summary ({done.length})</summary>
      <table data-testid="sentence-summary">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">steps</th>
            <th scope="col">α</th>
            <th scope="col">τ</th>
            <th scope="col">units</th>
          </tr>
        </thead>
        <tbody>
          {done.map((d) => (
            <SummaryRow key={d.index} index={d.index} progress={d.progress} />
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** Memoised on the sentence's progress object, which the store replaces only when that sentence changes. */
const SummaryRow = memo(function SummaryRow({ index, progress }: { index: number; progress: SentenceProgress }) {
  return (
    <tr>
      <td>{index + 1}</td>
      <td>{progress.stats.steps}</td>
      <td>{formatPercent(acceptanceRate(progress.stats))}</td>
      <td>{formatNumber(meanAcceptedTokens(progress.stats), 2)}</td>
      <td>{progress.units}</td>
    </tr>
  );
});
