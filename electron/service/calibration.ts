/**
 * The studio's calibration (electron/core/calibration through the backend): the stored one, and the
 * measurement the service runs in the background. Pure Node, no Electron.
 */
import { randomUUID } from 'node:crypto';
import type { Calibration } from '../core/calibration/store.ts';
import type { CalibrationInfo, JobId } from '../ipc-contract.ts';
import type { SynthesisBackend, VoiceLike } from './backend.ts';

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The service's calibration: the stored one (read before the voice opens: it sets the threads), and a
 * measurement run in the background when none is stored or the user asks, only while no job runs: a job
 * pauses it, and it starts again once the service has been idle for a while.
 */
export class CalibrationState {
  stored: Calibration | null = null;
  info: CalibrationInfo;
  private loading: Promise<void> | undefined;
  /** A measurement is due: none stored, a stale or corrupt one, or the user asked. */
  private wanted = false;
  private nextId: JobId | null = null;
  private run: { id: JobId; controller: AbortController; done: Promise<void> } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly backend: SynthesisBackend,
    private readonly idleMs: number,
    private readonly host: { emit(info: CalibrationInfo): void; voice(): Promise<VoiceLike>; busy(): boolean; onResult(): void },
  ) {
    const machine = backend.calibration?.machine ?? '';
    this.info = {
      state: backend.calibration ? 'none' : 'unavailable',
      machine,
      choice: null,
      gammas: {},
      adaptive: null,
      progress: null,
      jobId: null,
      message: null,
    };
  }

  /** Reads the stored calibration once; a missing, stale or corrupt one makes a measurement due. */
  loaded(): Promise<void> {
    const calibration = this.backend.calibration;
    if (!calibration) return Promise.resolve();
    this.loading ??= calibration.load(this.backend.voiceDir).then(
      (stored) => {
        if (stored.status === 'valid') this.accept(stored.calibration);
        else {
          this.wanted = true;
          if (stored.status !== 'missing') this.update({ message: `${stored.notice}; calibrating again` });
        }
      },
      // An unreadable voice is the voice's error to report, when it opens.
      () => undefined,
    );
    return this.loading;
  }

  request(): JobId {
    this.wanted = true;
    if (this.run) return this.run.id;
    this.nextId ??= randomUUID();
    const id = this.nextId;
    this.whenIdle(0);
    return id;
  }

  cancel(id: JobId): void {
    if (this.run?.id === id || this.nextId === id) {
      this.wanted = false;
      this.nextId = null;
      this.run?.controller.abort();
    }
  }

  /** Stops a measurement for a job; it runs again when the service is idle. */
  async pause(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const run = this.run;
    if (!run) return;
    run.controller.abort();
    await run.done;
  }

  async stop(): Promise<void> {
    this.wanted = false;
    await this.pause();
  }

  /** Starts a due measurement after `delay` ms if nothing else runs by then. */
  whenIdle(delay = this.idleMs): void {
    if (!this.backend.calibration || !this.wanted || this.run) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.wanted && !this.run && !this.host.busy()) this.start();
    }, delay);
    this.timer.unref?.();
  }

  private start(): void {
    const calibration = this.backend.calibration!;
    const id = this.nextId ?? randomUUID();
    this.nextId = id;
    const controller = new AbortController();
    this.update({ state: 'running', progress: 0, jobId: id });
    let shown = 0;
    const done = (async () => {
      try {
        const voice = await this.host.voice();
        const result = await calibration.run(voice, {
          signal: controller.signal,
          onProgress: (fraction) => {
            if (fraction - shown < 0.02 && fraction < 1) return;
            shown = fraction;
            this.update({ progress: fraction });
          },
        });
        this.wanted = false;
        this.nextId = null;
        this.accept(result);
        this.host.onResult();
      } catch (error) {
        if (controller.signal.aborted) this.update({ state: this.stored ? 'ready' : 'none', progress: null, jobId: null });
        else {
          this.wanted = false;
          this.nextId = null;
          this.update({ state: 'failed', progress: null, jobId: null, message: `calibration failed: ${message(error)}` });
        }
      } finally {
        this.run = undefined;
      }
    })();
    this.run = { id, controller, done };
  }

  private accept(calibration: Calibration): void {
    this.stored = calibration;
    const { strategy, gamma, threads, targetThreads, tokensPerSecond, speedup } = calibration.best;
    const gammas: CalibrationInfo['gammas'] = {};
    for (const [s, p] of Object.entries(calibration.byStrategy)) if (p && p.strategy !== 'ar') gammas[s as keyof typeof gammas] = p.gamma;
    this.update({
      state: 'ready',
      choice: { strategy, gamma, threads, targetThreads, tokensPerSecond, speedup },
      gammas,
      adaptive: calibration.adaptive ?? null,
      progress: null,
      jobId: null,
      message: null,
    });
  }

  private update(patch: Partial<CalibrationInfo>): void {
    this.info = { ...this.info, ...patch };
    this.host.emit(this.info);
  }
}
