import { useEffect, useState } from 'react';
import { cancelJob, synthesize } from './actions.ts';
import { AcceptanceView } from './components/AcceptanceView.tsx';
import { CompareView } from './components/CompareView.tsx';
import { DocumentPanel } from './components/DocumentPanel.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { ExportPanel } from './components/ExportPanel.tsx';
import { LexiconPanel } from './components/LexiconPanel.tsx';
import { Notices } from './components/Notices.tsx';
import { PlaybackPanel } from './components/PlaybackPanel.tsx';
import { SettingsPanel } from './components/SettingsPanel.tsx';
import { SweepPanel } from './components/SweepPanel.tsx';
import { TuningPanel } from './components/TuningPanel.tsx';
import { useStudio } from './store/state.ts';

export function App() {
  const connection = useStudio((s) => s.connection);
  const [showSettings, setShowSettings] = useState(false);
  const [showLexicon, setShowLexicon] = useState(false);
  const [showCompare, setShowCompare] = useState(false);

  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void synthesize();
      } else if (event.key === 'Escape') {
        void cancelJob();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="app">
      <header className="app-header">
        <h1>Spear Studio</h1>
        <span className={`connection ${connection}`} role="status">
          {connection === 'ready' ? 'service ready' : connection === 'connecting' ? 'connecting…' : 'service unreachable'}
        </span>
        <span className="muted small hint">Ctrl+Enter synthesize · Esc cancel</span>
        <button type="button" aria-expanded={showCompare} aria-controls="compare-panel" onClick={() => setShowCompare((v) => !v)}>
          Compare
        </button>
        <button type="button" aria-expanded={showLexicon} aria-controls="lexicon-panel" onClick={() => setShowLexicon((v) => !v)}>
          Pronunciations
        </button>
        <button type="button" aria-expanded={showSettings} aria-controls="settings-panel" onClick={() => setShowSettings((v) => !v)}>
          Settings
        </button>
      </header>
      <ErrorBoundary area="Notices">
        <Notices />
      </ErrorBoundary>
      {showSettings && (
        <section id="settings-panel" className="panel settings-panel" aria-label="Settings">
          <ErrorBoundary area="Settings">
            <SettingsPanel />
          </ErrorBoundary>
        </section>
      )}
      {showLexicon && (
        <section id="lexicon-panel" className="panel lexicon-panel" aria-label="Pronunciations">
          <ErrorBoundary area="Pronunciations">
            <LexiconPanel />
          </ErrorBoundary>
        </section>
      )}
      {showCompare && (
        <section id="compare-panel" className="panel compare-panel" aria-labelledby="compare-heading">
          <h2 id="compare-heading">Compare strategies over γ</h2>
          <ErrorBoundary area="The comparison">
            <CompareView />
          </ErrorBoundary>
        </section>
      )}
      <main className="columns">
        <ErrorBoundary area="The document view">
          <DocumentPanel />
        </ErrorBoundary>
        <ErrorBoundary area="The acceptance view">
          <AcceptanceView />
        </ErrorBoundary>
        <div className="side">
          <ErrorBoundary area="Decoding settings">
            <TuningPanel />
          </ErrorBoundary>
          <ErrorBoundary area="The gamma sweep">
            <SweepPanel />
          </ErrorBoundary>
        </div>
      </main>
      <footer className="bottom">
        <ErrorBoundary area="Playback">
          <PlaybackPanel />
        </ErrorBoundary>
        <ErrorBoundary area="Export">
          <ExportPanel />
        </ErrorBoundary>
      </footer>
    </div>
  );
}
