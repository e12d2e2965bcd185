/**
 * How a long job shows its progress: a bar on stderr when it is a terminal (cli-progress: sentences
 * done, the share, the audio written so far, the time left), or one JSON object a line on stdout for
 * scripts (`--json`). Silent otherwise (a pipe, CI, --quiet).
 */
import { SingleBar } from 'cli-progress';

export interface ProgressReporter {
  /** A sentence's audio is written: `done` of `total` sentences, `audioSeconds` of audio so far. */
  update(done: number, total: number, audioSeconds: number): void;
  /** Clears the bar (the summary line follows on stderr). */
  done(): void;
}

const formatSeconds = (s: number): string =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`
      : `${s.toFixed(1)}s`;

/** The terminal bar; a no-op when stderr is not a terminal or CI is set. */
export class ProgressBar implements ProgressReporter {
  private readonly bar: SingleBar | null;
  private started = false;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    const enabled = Boolean(stream.isTTY) && !process.env.CI;
    this.bar = enabled
      ? new SingleBar({
          stream,
          format: `${label} {bar} {percentage}% | {value}/{total} sentences | {audio} of audio | {eta_formatted} left`,
          barCompleteChar: '█',
          barIncompleteChar: '░',
          barsize: 28,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 20,
          fps: 10,
        })
      : null;
  }

  update(done: number, total: number, audioSeconds: number): void {
    if (!this.bar) return;
    if (!this.started) {
      this.bar.start(total, 0, { audio: formatSeconds(0) });
      this.started = true;
    }
    this.bar.setTotal(total);
    this.bar.update(done, { audio: formatSeconds(audioSeconds) });
  }

  done(): void {
    if (this.bar && this.started) this.bar.stop();
    this.started = false;
  }
}

/** One JSON object a line on `out`: {"event": …} (see SYNTH_HELP, "--json"). */
export class JsonProgress implements ProgressReporter {
  private readonly started = performance.now();

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  emit(event: string, fields: Record<string, unknown> = {}): void {
    this.out.write(JSON.stringify({ event, ...fields }) + '\n');
  }

  update(done: number, total: number, audioSeconds: number): void {
    this.emit('progress', {
      done,
      total,
      fraction: total > 0 ? done / total : 0,
      audioSeconds: Math.round(audioSeconds * 1000) / 1000,
      elapsedSeconds: Math.round(performance.now() - this.started) / 1000,
    });
  }

  done(): void {}
}
