import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { LexiconEntryView } from '../../../electron/ipc-contract.ts';
import { addLexiconEntry, hearWord, loadLexicon, removeLexiconEntry } from '../actions.ts';
import { useStudio } from '../store/state.ts';

/**
 * The user's own pronunciations: add a word with phonemes or a respelling, hear it before and after,
 * remove it. The same list `spear lexicon` edits; the next synthesis reads with it.
 */
export function LexiconPanel() {
  const view = useStudio(
    useShallow((s) => ({
      entries: s.lexicon,
      notice: s.lexiconNotice,
      error: s.lexiconError,
      hearing: s.hearing,
      busy: [s.status, s.sweepStatus, s.compareStatus].some((status) => status === 'running' || status === 'starting'),
    })),
  );
  useEffect(() => {
    void loadLexicon();
  }, []);
  return <LexiconView {...view} />;
}

export interface LexiconViewProps {
  entries: LexiconEntryView[] | null;
  notice: string | null;
  error: string | null;
  /** The word being read aloud, while it is. */
  hearing: string | null;
  /** A synthesis, sweep or comparison holds the voice: words cannot be heard now. */
  busy: boolean;
}

/** What the panel shows, from the store's lexicon slice. */
export function LexiconView({ entries, notice, error, hearing, busy }: LexiconViewProps) {
  const [word, setWord] = useState('');
  const [pronunciation, setPronunciation] = useState('');
  const hearTitle = busy ? 'The voice is reading the document; hear words when it has finished.' : undefined;
  return (
    <div className="lexicon" data-testid="lexicon-panel">
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          void addLexiconEntry(word, pronunciation).then((saved) => {
            if (saved) {
              setWord('');
              setPronunciation('');
            }
          });
        }}
      >
        <label htmlFor="lexicon-word">Word</label>
        <input id="lexicon-word" value={word} maxLength={64} onChange={(e) => setWord(e.target.value)} placeholder="Nguyen" autoComplete="off" />
        <label htmlFor="lexicon-pronunciation">Say it as</label>
        <input
          id="lexicon-pronunciation"
          value={pronunciation}
          maxLength={200}
          onChange={(e) => setPronunciation(e.target.value)}
          placeholder="win   or   W IH1 N"
          autoComplete="off"
        />
        <button
          type="button"
          disabled={word.trim() === '' || hearing !== null || busy}
          title={hearTitle}
          onClick={() => void hearWord(word, pronunciation || null)}
        >
          {hearing !== null && hearing === word.trim() ? 'Reading…' : 'Hear'}
        </button>
        <button type="submit" className="primary" disabled={word.trim() === '' || pronunciation.trim() === ''}>
          Add
        </button>
      </form>
      <p className="muted small">
        A respelling in ordinary letters (“win”), or ARPAbet phonemes in capitals with a stress digit on each vowel (“W IH1 N”). A word matches in any case.
      </p>
      {error && (
        <p className="small error" role="alert" data-testid="lexicon-error">
          {error}
        </p>
      )}
      {notice && (
        <p className="small notice-warning lexicon-notice" role="status">
          {notice}
        </p>
      )}
      {entries === null ? (
        <p className="muted small">Loading your pronunciations…</p>
      ) : entries.length === 0 ? (
        <p className="muted small">No pronunciations of yours yet.</p>
      ) : (
        <ul className="lexicon-list" aria-label="Your pronunciations">
          {entries.map((entry) => (
            <li key={entry.word} data-testid="lexicon-entry">
              <span className="lexicon-word">{entry.word}</span>
              <code>{entry.phonemes.join(' ')}</code>
              {entry.respelling !== undefined && <span className="muted small">“{entry.respelling}”</span>}
              <span className="lexicon-actions">
                <button
                  type="button"
                  className="icon"
                  disabled={hearing !== null || busy}
                  title={hearTitle}
                  onClick={() => void hearWord(entry.word)}
                  aria-label={`Hear ${entry.word}`}
                >
                  {hearing === entry.word ? 'Reading…' : 'Hear'}
                </button>
                <button type="button" className="icon" onClick={() => void removeLexiconEntry(entry.word)} aria-label={`Remove ${entry.word}`}>
                  Remove
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
