import { memo, useMemo, useState, type DragEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { loadFile, pinSentence, setText } from '../actions.ts';
import { playSentence } from '../player.ts';
import { useStudio, type StudioState } from '../store/state.ts';
import { estimateSeconds } from '../lib/estimate.ts';
import { ACCEPTED_FILES } from '../lib/files.ts';
import { formatDuration, plural } from '../lib/format.ts';
import { wordAt } from '../lib/waveform.ts';

/** Drop zone + editor + the document split into sentences (decoding, decoded, heard). */
export function DocumentPanel() {
  const { text, fileName, sentences, fileMessage } = useStudio(
    useShallow((s) => ({ text: s.text, fileName: s.fileName, sentences: s.sentences, fileMessage: s.fileMessage })),
  );
  const [over, setOver] = useState(false);

  const onDrop = (event: DragEvent<HTMLElement>): void => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file) void loadFile(file);
    else {
      const dropped = event.dataTransfer.getData('text/plain');
      if (dropped) setText(dropped, null);
    }
  };

  return (
    <section className="panel document-panel" aria-labelledby="document-heading">
      <h2 id="document-heading">Document {fileName && <span className="muted">— {fileName}</span>}</h2>
      <div
        className={`drop-zone${over ? ' drop-over' : ''}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <label htmlFor="document-text" className="drop-hint">
          Drop a text, Markdown, HTML, EPUB or PDF file here, paste, or type.
        </label>
        <textarea id="document-text" value={text} spellCheck={false} placeholder="Text to read aloud…" onChange={(e) => setText(e.target.value, null)} />
        <label className="file-pick">
          <span className="button">Open file…</span>
          <input
            type="file"
            accept={ACCEPTED_FILES}
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void loadFile(file);
              e.target.value = '';
            }}
          />
        </label>
      </div>
      {fileMessage && (
        <p className={`file-message ${fileMessage.kind}`} role={fileMessage.kind === 'error' ? 'alert' : 'status'} data-testid="file-message">
          {fileMessage.text}
        </p>
      )}
      <SentenceList count={sentences.length} />
    </section>
  );
}

function SentenceList({ count }: { count: number }) {
  const { sentences, jobSentences, jobText, text } = useStudio(
    useShallow((s) => ({ sentences: s.sentences, jobSentences: s.jobSentences, jobText: s.jobText, text: s.text })),
  );
  // While a job runs on this text, show the job's sentences (its indices are the decoder's).
  const list = jobSentences.length > 0 && jobText === text ? jobSentences : sentences;
  if (count === 0 && list.length === 0) return <p className="muted">No sentences yet.</p>;
  return (
    <>
      <h3 className="sub">
        {plural(list.length, 'sentence')}
        <EstimatedDuration />
      </h3>
      <ol className="sentences" data-testid="sentences">
        {list.map((s) => (
          <SentenceRow key={s.index} index={s.index} text={s.text} start={s.start} />
        ))}
      </ol>
    </>
  );
}

/** The text's estimated audio length (before decoding; labelled as an estimate). */
function EstimatedDuration() {
  const { text, rate, sentencePauseMs, paragraphPauseMs } = useStudio(
    useShallow((s) => ({ text: s.text, rate: s.tuning.rate, sentencePauseMs: s.tuning.sentencePauseMs, paragraphPauseMs: s.tuning.paragraphPauseMs })),
  );
  // Memoised: the store changes every animation frame while decoding.
  const seconds = useMemo(
    () => estimateSeconds(text, { rate, sentencePauseSeconds: sentencePauseMs / 1000, paragraphPauseSeconds: paragraphPauseMs / 1000 }),
    [text, rate, sentencePauseMs, paragraphPauseMs],
  );
  if (seconds === 0) return null;
  return (
    <span className="muted" data-testid="estimated-duration" title="Estimated from the word count; the measured duration shows under Preview once decoded">
      {' '}
      · ~{formatDuration(seconds)} of audio (estimated)
    </span>
  );
}

type RowState = 'heard' | 'decoded' | 'decoding' | 'decoding-batch' | '';

function rowState(s: StudioState, index: number): RowState {
  const progress = s.perSentence[index];
  if (s.heard === index) return 'heard';
  if (progress?.units != null) return 'decoded';
  if (s.active === index) return 'decoding';
  return progress ? 'decoding-batch' : '';
}

/** One row; it re-renders only when its own state changes, not on every decode frame. */
const SentenceRow = memo(function SentenceRow({ index, text, start }: { index: number; text: string; start: number }) {
  const state = useStudio((s) => rowState(s, index));
  const pinned = useStudio((s) => s.pinned === index);
  const hasAudio = useStudio((s) => s.audio[index] !== undefined);
  // The word being heard, as its span in this sentence; the row re-renders only when it changes.
  const current = useStudio(
    useShallow((s) => {
      if (s.heard !== index || s.jobText !== s.text) return null;
      const words = s.words[index];
      const at = wordAt(words, s.position);
      return at === null ? null : [words[at].start - start, words[at].end - start];
    }),
  );
  return (
    <li className={`sentence ${state}${pinned ? ' pinned' : ''}`} aria-current={state === 'heard' ? 'true' : undefined}>
      <button type="button" className="sentence-text" title="Follow this sentence in the acceptance view" onClick={() => pinSentence(pinned ? null : index)}>
        {current && current[0] >= 0 && current[1] <= text.length ? (
          <>
            {text.slice(0, current[0])}
            <mark className="current-word" data-testid="current-word">
              {text.slice(current[0], current[1])}
            </mark>
            {text.slice(current[1])}
          </>
        ) : (
          text
        )}
      </button>
      <button type="button" className="icon" disabled={!hasAudio} aria-label={`Play sentence ${index + 1}`} onClick={() => void playSentence(index)}>
        ▶
      </button>
    </li>
  );
});
