import { useState, type DragEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { loadFile, pinSentence, setText } from '../actions.ts';
import { playSentence } from '../player.ts';
import { useStudio } from '../store/state.ts';
import { plural } from '../lib/format.ts';

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
          Drop a .txt or .md file here (up to 1 MB), paste, or type.
        </label>
        <textarea
          id="document-text"
          value={text}
          spellCheck={false}
          placeholder="Text to read aloud…"
          onChange={(e) => setText(e.target.value, null)}
        />
        <label className="file-pick">
          <span className="button">Open file…</span>
          <input
            type="file"
            accept=".txt,.md,.markdown,text/plain,text/markdown"
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
  const { sentences, jobSentences, perSentence, active, heard, audio, pinned, jobText, text } = useStudio(
    useShallow((s) => ({
      sentences: s.sentences,
      jobSentences: s.jobSentences,
      perSentence: s.perSentence,
      active: s.active,
      heard: s.heard,
      audio: s.audio,
      pinned: s.pinned,
      jobText: s.jobText,
      text: s.text,
    })),
  );
  // While a job runs on this text, show the job's sentences (its indices are the decoder's).
  const list = jobSentences.length > 0 && jobText === text ? jobSentences : sentences;
  if (count === 0 && list.length === 0) return <p className="muted">No sentences yet.</p>;
  return (
    <>
      <h3 className="sub">{plural(list.length, 'sentence')}</h3>
      <ol className="sentences" data-testid="sentences">
        {list.map((s) => {
          const progress = perSentence[s.index];
          const state = heard === s.index ? 'heard' : progress?.units != null ? 'decoded' : active === s.index ? 'decoding' : progress ? 'decoding-batch' : '';
          return (
            <li key={s.index} className={`sentence ${state}${pinned === s.index ? ' pinned' : ''}`} aria-current={heard === s.index ? 'true' : undefined}>
              <button type="button" className="sentence-text" title="Follow this sentence in the acceptance view" onClick={() => pinSentence(pinned === s.index ? null : s.index)}>
                {s.text}
              </button>
              <button
                type="button"
                className="icon"
                disabled={!audio[s.index]}
                aria-label={`Play sentence ${s.index + 1}`}
                onClick={() => void playSentence(s.index)}
              >
                ▶
              </button>
            </li>
          );
        })}
      </ol>
    </>
  );
}
