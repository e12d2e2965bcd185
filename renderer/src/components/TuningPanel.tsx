import { useShallow } from 'zustand/react/shallow';
import type { Strategy } from '../../../electron/ipc-contract.ts';
import { useEffect } from 'react';
import { cancelJob, draftsApply, loadStrategies, MEDUSA_TREES, setTuning, synthesize, treeOf } from '../actions.ts';
import { strategyLabel } from '../lib/format.ts';
import { type MedusaTree, useStudio } from '../store/state.ts';

const STRATEGIES: Strategy[] = ['eagle', 'draft', 'early-exit', 'layer-skip', 'medusa', 'prophet', 'ar']; // fastest first on the shipped voice

/** A pause field's value as whole milliseconds within 0 … 5000. */
const clampPause = (value: string): number => Math.min(5000, Math.max(0, Math.round(Number(value) || 0)));

/** Parses an optional numeric field: empty → null. */
const optional = (value: string): number | null => (value.trim() === '' ? null : Number(value));

/** Medusa's chain or trees; the trees disabled where the voice verifies chains only (its int8 target). */
export function MedusaTreeSelect({ value, treesOff, onChange }: { value: MedusaTree; treesOff: boolean; onChange: (tree: MedusaTree) => void }) {
  return (
    <select id="medusa-tree" value={value} onChange={(e) => onChange(e.target.value as MedusaTree)}>
      <option value="chain">a chain of γ drafts</option>
      {Object.entries(MEDUSA_TREES).map(([key, t]) => (
        <option key={key} value={key} disabled={treesOff} title={treesOff ? "the voice's int8 target verifies chains only" : undefined}>
          {t.label}
        </option>
      ))}
    </select>
  );
}

export function TuningPanel() {
  const { tuning, status, hasText, available } = useStudio(
    useShallow((s) => ({ tuning: s.tuning, status: s.status, hasText: s.text.trim() !== '', available: s.compareAvailable })),
  );
  const busy = status === 'running' || status === 'starting';
  // Whether the voice verifies medusa's trees (the service says; the int8 target verifies chains only).
  const treesOff = available?.find((s) => s.strategy === 'medusa')?.trees === false;
  useEffect(() => {
    if (tuning.strategy === 'medusa' && useStudio.getState().compareAvailable === null) void loadStrategies();
  }, [tuning.strategy]);
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
        <label htmlFor="gamma">
          {tuning.adaptive ? 'Gamma (γ), at most' : 'Gamma (γ)'} {tuning.strategy !== 'ar' && <output htmlFor="gamma">{tuning.gamma}</output>}
        </label>
        <input
          id="gamma"
          type="range"
          min={1}
          max={8}
          step={1}
          value={tuning.gamma}
          disabled={tuning.strategy === 'ar' || treeOf(tuning) !== null}
          onChange={(e) => setTuning({ gamma: Number(e.target.value) })}
        />
        {tuning.strategy === 'medusa' && (
          <>
            <label htmlFor="medusa-tree">Medusa verifies</label>
            <MedusaTreeSelect value={tuning.tree} treesOff={treesOff} onChange={(tree) => setTuning({ tree })} />
          </>
        )}
        <label className="check" title="Each sentence stops drafting where the drafter is unsure, so verification pays only for likely drafts">
          <input
            id="adaptive-gamma"
            type="checkbox"
            checked={tuning.adaptive && tuning.strategy !== 'ar' && treeOf(tuning) === null}
            disabled={tuning.strategy === 'ar' || treeOf(tuning) !== null}
            onChange={(e) => setTuning({ adaptive: e.target.checked })}
          />
          <span>adaptive γ (stop where unsure)</span>
        </label>
        <span className="label">Sampling</span>
        <div className="sampling">
          <label>
            <span>temperature</span>
            <input
              id="temperature"
              type="number"
              min={0}
              max={2}
              step={0.1}
              value={tuning.temperature}
              onChange={(e) => setTuning({ temperature: Math.max(0, Number(e.target.value) || 0) })}
            />
          </label>
          <label title={tuning.temperature === 0 ? 'Greedy (temperature 0): top-k applies only when sampling' : undefined}>
            <span>top-k</span>
            <input
              id="top-k"
              type="number"
              min={1}
              step={1}
              placeholder="all"
              value={tuning.topK ?? ''}
              disabled={tuning.temperature === 0}
              onChange={(e) => setTuning({ topK: optional(e.target.value) })}
            />
          </label>
          <label title={tuning.temperature === 0 ? 'Greedy (temperature 0): top-p applies only when sampling' : undefined}>
            <span>top-p</span>
            <input
              id="top-p"
              type="number"
              min={0.01}
              max={1}
              step={0.05}
              placeholder="1"
              value={tuning.topP ?? ''}
              disabled={tuning.temperature === 0}
              onChange={(e) => setTuning({ topP: optional(e.target.value) })}
            />
          </label>
          <label
            title={
              tuning.strategy === 'ar'
                ? 'ar drafts nothing'
                : tuning.temperature === 0
                  ? 'Greedy (temperature 0): every draft would be the same one; set a temperature to draw several'
                  : 'Drafts drawn per sentence and step; above 1, SpecTr verifies them together (lossless; on a CPU usually slower)'
            }
          >
            <span>drafts (SpecTr)</span>
            <input
              id="drafts"
              type="number"
              min={1}
              max={8}
              step={1}
              value={tuning.drafts}
              disabled={!draftsApply(tuning)}
              onChange={(e) => setTuning({ drafts: Math.min(8, Math.max(1, Math.round(Number(e.target.value) || 1))) })}
            />
          </label>
        </div>
        <span className="label">Delivery</span>
        <div className="delivery">
          <label>
            <span>
              rate <output htmlFor="rate">{tuning.rate.toFixed(2)}×</output>
            </span>
            <input
              id="rate"
              type="range"
              min={0.5}
              max={2}
              step={0.05}
              value={tuning.rate}
              onChange={(e) => setTuning({ rate: Number(e.target.value) })}
              data-testid="rate"
            />
          </label>
          <label>
            <span>
              pitch{' '}
              <output htmlFor="pitch">
                {tuning.pitch > 0 ? '+' : ''}
                {tuning.pitch} st
              </output>
            </span>
            <input id="pitch" type="range" min={-6} max={6} step={1} value={tuning.pitch} onChange={(e) => setTuning({ pitch: Number(e.target.value) })} />
          </label>
          <label>
            <span>
              volume <output htmlFor="volume">{Math.round(tuning.volume * 100)}%</output>
            </span>
            <input id="volume" type="range" min={0} max={2} step={0.05} value={tuning.volume} onChange={(e) => setTuning({ volume: Number(e.target.value) })} />
          </label>
          <label>
            <span>sentence pause, ms</span>
            <input
              id="sentence-pause"
              type="number"
              min={0}
              max={5000}
              step={50}
              value={tuning.sentencePauseMs}
              onChange={(e) => setTuning({ sentencePauseMs: clampPause(e.target.value) })}
            />
          </label>
          <label>
            <span>paragraph pause, ms</span>
            <input
              id="paragraph-pause"
              type="number"
              min={0}
              max={5000}
              step={50}
              value={tuning.paragraphPauseMs}
              onChange={(e) => setTuning({ paragraphPauseMs: clampPause(e.target.value) })}
            />
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
