import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Provider, Strategy, StudioSettings } from '../../../electron/ipc-contract.ts';
import { saveSettings } from '../actions.ts';
import { CalibrationPanel } from './CalibrationPanel.tsx';
import { providerLabel, strategyLabel } from '../lib/format.ts';
import { useStudio } from '../store/state.ts';

const PROVIDERS: Provider[] = ['cpu', 'webgpu', 'cuda'];
const STRATEGIES: Strategy[] = ['eagle', 'draft', 'early-exit', 'layer-skip', 'medusa', 'prophet', 'ar']; // fastest first on the shipped voice

export function SettingsPanel() {
  const { settings, providers } = useStudio(useShallow((s) => ({ settings: s.settings, providers: s.providers })));
  const [draft, setDraft] = useState<StudioSettings | null>(settings);
  useEffect(() => setDraft(settings), [settings]);
  if (!draft) return <p className="muted">Loading settings…</p>;
  const available = providers?.available ?? ['cpu'];
  const active = providers?.active;
  return (
    <form
      className="form-grid settings"
      onSubmit={(e) => {
        e.preventDefault();
        void saveSettings(draft);
      }}
    >
      <label htmlFor="provider">Execution provider</label>
      <select id="provider" value={draft.provider} onChange={(e) => setDraft({ ...draft, provider: e.target.value as Provider })}>
        {PROVIDERS.map((p) => (
          <option key={p} value={p} disabled={!available.includes(p)}>
            {providerLabel(p)}
            {available.includes(p) ? '' : ' (not installed)'}
          </option>
        ))}
      </select>
      <label htmlFor="threads">Threads per session</label>
      <input
        id="threads"
        type="number"
        min={0}
        max={64}
        value={draft.threads}
        onChange={(e) => setDraft({ ...draft, threads: Math.max(0, Math.round(Number(e.target.value) || 0)) })}
      />
      <label htmlFor="default-strategy">Default strategy</label>
      <select id="default-strategy" value={draft.defaultStrategy} onChange={(e) => setDraft({ ...draft, defaultStrategy: e.target.value as Strategy })}>
        {STRATEGIES.map((s) => (
          <option key={s} value={s}>
            {strategyLabel(s)}
          </option>
        ))}
      </select>
      <label htmlFor="use-calibration">Use calibration</label>
      <input id="use-calibration" type="checkbox" checked={draft.useCalibration} onChange={(e) => setDraft({ ...draft, useCalibration: e.target.checked })} />
      <CalibrationPanel />
      <span className="muted small span-2">
        {active
          ? `Voice running on ${providerLabel(active.used)}${active.fallbackReason ? ` (fell back from ${providerLabel(active.requested)})` : ''}.`
          : 'The voice opens with the next synthesis.'}{' '}
        0 threads lets ONNX Runtime choose.
      </span>
      <div className="actions span-2">
        <button type="submit" className="primary">
          Save settings
        </button>
      </div>
    </form>
  );
}
