import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { AudioFormat } from '../../../electron/ipc-contract.ts';
import { cancelExport, exportAudio } from '../actions.ts';
import { estimateBytes, exportProblem, FORMAT_LABELS } from '../lib/estimate.ts';
import { formatBytes } from '../lib/format.ts';
import { documentLength } from '../lib/waveform.ts';
import { useStudio } from '../store/state.ts';

const FORMATS: AudioFormat[] = ['wav', 'flac', 'opus', 'mp3'];

export function ExportPanel() {
  const { jobId, hasAudio, status, fraction, message, pinned, audio } = useStudio(
    useShallow((s) => ({
      jobId: s.jobId,
      audio: s.audio,
      hasAudio: Object.keys(s.audio).length > 0,
      status: s.exportStatus,
      fraction: s.exportFraction,
      message: s.exportMessage,
      pinned: s.pinned,
    })),
  );
  const [format, setFormat] = useState<AudioFormat>('wav');
  const [scope, setScope] = useState<'document' | 'sentence'>('document');
  const running = status === 'running';
  // The size is estimated from the audio decoded so far (its duration is measured, the size is not).
  const sampleRate = Object.values(audio)[0]?.sampleRate ?? 16_000;
  const seconds = (scope === 'sentence' && pinned !== null ? (audio[pinned]?.samples.length ?? 0) : documentLength(audio)) / sampleRate;
  const problem = exportProblem(format, seconds, sampleRate);
  return (
    <section className="panel export" aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <div className="form-row">
        <label htmlFor="export-format">Format</label>
        <select id="export-format" value={format} onChange={(e) => setFormat(e.target.value as AudioFormat)}>
          {FORMATS.map((f) => (
            <option key={f} value={f}>
              {FORMAT_LABELS[f]}
            </option>
          ))}
        </select>
        <label htmlFor="export-scope">Audio</label>
        <select id="export-scope" value={scope} onChange={(e) => setScope(e.target.value as 'document' | 'sentence')}>
          <option value="document">whole document (decoded so far)</option>
          <option value="sentence" disabled={pinned === null}>
            selected sentence{pinned !== null ? ` (${pinned + 1})` : ''}
          </option>
        </select>
        <button
          type="button"
          className="primary"
          disabled={!jobId || !hasAudio || running || problem !== null}
          onClick={() => void exportAudio(format, scope === 'sentence' && pinned !== null ? pinned : undefined)}
          data-testid="export"
        >
          Export…
        </button>
        {running && (
          <button type="button" onClick={() => void cancelExport()}>
            Cancel
          </button>
        )}
      </div>
      {hasAudio && (
        <p className="small muted" data-testid="export-estimate">
          {problem ?? `Estimated size: ~${formatBytes(estimateBytes(format, seconds, sampleRate))}`}
        </p>
      )}
      {running && <progress max={1} value={fraction} aria-label="Export progress" />}
      {message && (
        <p className={`small ${status === 'error' ? 'error' : 'muted'}`} role={status === 'error' ? 'alert' : 'status'} data-testid="export-message">
          {message}
        </p>
      )}
    </section>
  );
}
