import { useMemo, type KeyboardEvent, type MouseEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { attachAudioElement, playDocument, stop, togglePlayback } from '../player.ts';
import { documentLength, documentPeaks, peaksPath } from '../lib/waveform.ts';
import { formatDuration } from '../lib/format.ts';
import { useStudio } from '../store/state.ts';

const WIDTH = 800;
const HEIGHT = 64;

/** The document's waveform with a playhead; play/pause; the sentence being heard. */
export function PlaybackPanel() {
  const { audio, playing, position, heard, waiting, jobSentences, status } = useStudio(
    useShallow((s) => ({
      audio: s.audio,
      playing: s.playing,
      position: s.position,
      heard: s.heard,
      waiting: s.waiting,
      jobSentences: s.jobSentences,
      status: s.status,
    })),
  );
  const totalSamples = documentLength(audio);
  const sampleRate = Object.values(audio)[0]?.sampleRate ?? 16_000;
  const totalSeconds = totalSamples / sampleRate;
  const path = useMemo(() => peaksPath(documentPeaks(audio, 400, totalSamples), WIDTH, HEIGHT), [audio, totalSamples]);
  const hasAudio = totalSamples > 0;
  const x = totalSeconds > 0 ? (Math.min(position, totalSeconds) / totalSeconds) * WIDTH : 0;

  const seek = (event: MouseEvent<SVGSVGElement>): void => {
    const rect = event.currentTarget.getBoundingClientRect();
    void playDocument(((event.clientX - rect.left) / rect.width) * totalSeconds);
  };
  const onKey = (event: KeyboardEvent<SVGSVGElement>): void => {
    if (event.key === 'ArrowRight') void playDocument(Math.min(totalSeconds, position + 2));
    else if (event.key === 'ArrowLeft') void playDocument(Math.max(0, position - 2));
    else if (event.key === ' ' || event.key === 'Enter') {
      event.preventDefault();
      togglePlayback();
    }
  };

  return (
    <section className="panel playback" aria-labelledby="playback-heading">
      <h2 id="playback-heading" className="visually-hidden">
        Preview
      </h2>
      <div className="transport">
        <button type="button" className="primary" onClick={togglePlayback} disabled={!hasAudio} data-testid="play-document" aria-pressed={playing}>
          {playing ? '❚❚ Pause' : '▶ Play document'}
        </button>
        <button type="button" onClick={stop} disabled={!hasAudio}>
          ■ Stop
        </button>
        <span className="time" aria-live="off">
          {formatDuration(position)} / {formatDuration(totalSeconds)}
          {status === 'running' && hasAudio && ' (more decoding)'}
        </span>
        <span className="heard" data-testid="heard">
          {waiting ? `Waiting for sentence ${(heard ?? 0) + 1} to decode…` : heard !== null ? `Sentence ${heard + 1}: ${jobSentences[heard]?.text ?? ''}` : ''}
        </span>
      </div>
      <svg
        className="waveform"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="slider"
        tabIndex={hasAudio ? 0 : -1}
        aria-label="Document audio; click or use the arrow keys to seek, space to play or pause"
        aria-valuemin={0}
        aria-valuemax={Math.round(totalSeconds * 10) / 10}
        aria-valuenow={Math.round(position * 10) / 10}
        aria-valuetext={formatDuration(position)}
        onClick={hasAudio ? seek : undefined}
        onKeyDown={hasAudio ? onKey : undefined}
        data-testid="waveform"
      >
        <path d={path} className="wave" />
        {hasAudio && <line x1={x} x2={x} y1={0} y2={HEIGHT} className="playhead" />}
      </svg>
      <audio ref={attachAudioElement} data-testid="preview-audio" preload="auto" />
    </section>
  );
}
