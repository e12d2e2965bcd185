import { useShallow } from 'zustand/react/shallow';
import type { Strategy } from '../../../electron/ipc-contract.ts';
import { cancelJob, setTuning, synthesize } from '../actions.ts';
import { strategyLabel } from '../lib/format.ts';
import { useStudio } from '../store/state.ts';

const STRATEGIES: Strategy[] = ['prophet', 'draft', 'early-exit', 'ar']; // fastest first on the shipped voice

/** Parses an optional numeric field: empty → null. */
const optional = (value: string): number | null => (value.trim() === '' ? null : Number(value));

export function TuningPanel() {
  const { tuning, status, hasText } = useStudio(useShallow((s) => ({ tuning: s.tuning, status: s.status, hasText: s.text.trim() !== '' })));
  const busy = status === 'running' || status === 'starting';
  return (
    <section className="panel tuning" aria-labelledby="tuning-heading">
      <h2 id="tuning-heading">Decoding</h2>
      <form
        className="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void synthesize();
        }}
      >
        <label htmlFor="strategy">Strategy</label>
        <select id="strategy" value={tuning.strategy} onChange={(e) => setTuning({ strategy: e.target.value as Strategy })}>
          {STRATEGIES.map((s) => (
            <option key={s} value={s}>
              {strategyLabel(s)}
            </option>
          ))}
        </select>
        <label htmlFor="gamma">Gamma (γ) {tuning.strategy !== 'ar' && <output htmlFor="gamma">{tuning.gamma}</output>}</label>
        <input
          id="gamma"
          type="range"
          min={1}
          max={8}
          step={1}
          value={tuning.gamma}
          disabled={tuning.strategy === 'ar'}
          onChange={(e) => setTuning({ gamma: Number(e.target.value) })}
        />
        <span className="label">Sampling</span>
        <div className="sampling">
          <label>
            <span>temperature</span>
            <input id="temperature" type="number" min={0} max={2} step={0.1} value={tuning.temperature} onChange={(e) => setTuning({ temperature: Math.max(0, Number(e.target.value) || 0) })} />
          </label>
          <label title={tuning.temperature === 0 ? 'Greedy (temperature 0): top-k applies only when sampling' : undefined}>
            <span>top-k</span>
            <input id="top-k" type="number" min={1} step={1} placeholder="all" value={tuning.topK ?? ''} disabled={tuning.temperature === 0} onChange={(e) => setTuning({ topK: optional(e.target.value) })} />
          </label>
          <label title={tuning.temperature === 0 ? 'Greedy (temperature 0): top-p applies only when sampling' : undefined}>
            <span>top-p</span>
            <input id="top-p" type="number" min={0.01} max={1} step={0.05} placeholder="1" value={tuning.topP ?? ''} disabled={tuning.temperature === 0} onChange={(e) => setTuning({ topP: optional(e.target.value) })} />
          </label>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={!hasText || status === 'starting'} data-testid="synthesize" title="Ctrl+Enter">
            {busy ? 'Restart' : 'Synthesize'}
          </button>
          <button type="button" disabled={!busy} onClick={() => void cancelJob()} title="Escape">
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
