/**
 * The synthesis service: jobs (start, cancel, per-sentence audio kept for preview and export), the
 * gamma sweep, the comparison of strategies over gammas, the provider list, the settings, and the voice's lifecycle. Pure Node, no Electron:
 * the Electron main process and the browser-mode server run it in a worker thread (host.ts) and speak
 * the contract to it. Every argument arriving here has already been validated (schemas.ts).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { CancelledError, SpearError } from '../core/errors.ts';
import { splitSentences } from '../core/text/index.ts';
import { DocumentImportError, importDocument } from '../core/import/index.ts';
import { encodeWav } from '../core/audio/wav.ts';
import { idsToTokens, prepareDocument } from '../core/text/index.ts';
import { checkWord, compileLexicon, makeEntry } from '../core/text/user-lexicon.ts';
import { LIMITS } from '../ipc-contract.ts';
import type {
  AudioFormat,
  CalibrationInfo,
  CompareOptions,
  CompareResult,
  ExportOptions,
  ImportedDocument,
  JobId,
  LexiconInfo,
  PronunciationPreview,
  ProviderReport,
  ProvidersInfo,
  SentenceSpan,
  ResultsFormat,
  StrategyInfo,
  StudioEvent,
  StudioSettings,
  SweepOptions,
  SynthesizeOptions,
} from '../ipc-contract.ts';
import type { SynthesisSettings, SynthesisSummary } from '../core/pipeline/events.ts';
import type { Calibration } from '../core/calibration/store.ts';
import { CalibrationState } from './calibration.ts';
import type { SynthesisBackend, VoiceLike } from './backend.ts';
import { JobAudio } from './job-audio.ts';
import type { SettingsStore } from './settings.ts';
import { memoryLexicon, type LexiconStore } from './lexicon.ts';
import { DEFAULT_SWEEP_GAMMAS, summarizeSweep } from './sweep.ts';
import { benchCells, benchConfigs, runInterleaved } from '../core/eval/bench.ts';
import { currentMachine, describeMachine } from '../core/calibration/machine.ts';
import { autoWorkers } from '../core/engine/pool.ts';
import { writeFileAtomic } from '../core/files.ts';
import { checkCompareRequest, CompareRequestError, formatCompareResults, positionLabel, strategyInfo } from './compare.ts';

export interface StudioServiceOptions {
  backend: SynthesisBackend;
  settings: SettingsStore;
  emit: (event: StudioEvent) => void;
  /** Finished jobs whose audio is kept for preview/export; older ones are dropped. Default 8. */
  keepJobs?: number;
  /** The user's pronunciations (lexicon.ts); default: an empty one in memory. */
  lexicon?: LexiconStore;
  /** How long the service waits, idle, before it calibrates by itself. Default 2000 ms. */
  calibrationIdleMs?: number;
}

interface Job {
  id: JobId;
  kind: 'synthesis' | 'sweep' | 'compare' | 'export' | 'hear';
  controller: AbortController;
  audio: JobAudio;
  done: Promise<void>;
}

/** Audio per export progress step: long enough that progress events stay few, short enough to cancel quickly. */
const EXPORT_CHUNK_SECONDS = 5;

export class ExportCancelledError extends CancelledError {
  constructor(file: string) {
    super(`export to ${file}`, 'no file was written');
  }
}

/** Comparisons whose results are kept for export; older ones are dropped. */
const KEPT_COMPARISONS = 4;

/** A word cannot be heard while a synthesis, sweep or comparison holds the voice. */
export class VoiceBusyError extends SpearError {
  constructor() {
    super('the voice is reading the document; hear the word when it has finished, or cancel it first');
  }
}

export class JobNotFoundError extends SpearError {
  constructor(id: string) {
    super(`job ${id} is unknown or its audio was released (only the last jobs are kept); synthesize again`);
  }
}

export class StudioService {
  private readonly backend: SynthesisBackend;
  private readonly settings: SettingsStore;
  private readonly emit: (event: StudioEvent) => void;
  private readonly keepJobs: number;
  private readonly lexicon: LexiconStore;
  private readonly jobs = new Map<JobId, Job>();
  private voicePromise: Promise<VoiceLike> | undefined;
  private activeReport: ProviderReport | null = null;
  /** Each comparison's results so far, kept for export after it ends (the last KEPT_COMPARISONS). */
  private readonly comparisons = new Map<JobId, CompareResult>();
  /** The synthesis, sweep or comparison that holds the voice; a new one cancels it and waits for it. */
  private current: Job | undefined;
  private disposed = false;
  /** The thread counts the open voice was opened with. */
  private openThreads: { threads?: number; targetThreads?: number } = {};
  private readonly calibration: CalibrationState;

  constructor(options: StudioServiceOptions) {
    this.backend = options.backend;
    this.settings = options.settings;
    this.emit = options.emit;
    this.keepJobs = options.keepJobs ?? 8;
    this.lexicon = options.lexicon ?? memoryLexicon();
    this.calibration = new CalibrationState(this.backend, options.calibrationIdleMs ?? 2000, {
      emit: (info) => this.emit({ type: 'calibration', info }),
      voice: () => this.voice(),
      busy: () => this.current !== undefined || this.disposed,
      onResult: () => this.reopenForCalibration(),
    });
  }

  /**
   * Starts opening the voice now, so the first job does not wait for it (the hosts call this once they
   * are up: opening reads and hashes the voice's files and creates its sessions, ~0.3 s for the shipped
   * voice), then reads one short sentence with the default settings and discards it: a session's first
   * run, and the default gamma's chain session, cost the first job ~70 ms more than later ones. A failure
   * here is reported by the first job that needs the voice, which tries again.
   */
  prepare(): void {
    if (!this.disposed) this.voice({ warm: true }).catch(() => undefined);
  }

  segment(doc: string): SentenceSpan[] {
    return splitSentences(doc).map((s, index) => ({ index, text: s.text, start: s.start, end: s.end }));
  }

  /** A dropped document's text (electron/core/import); too long a text is refused, not cut. */
  async importDocument(name: string, dataBase64: string): Promise<ImportedDocument> {
    const doc = await importDocument(Buffer.from(dataBase64, 'base64'), name);
    if (doc.text.length > LIMITS.documentChars) {
      throw new DocumentImportError(
        `${name}: its text has ${doc.text.length.toLocaleString('en')} characters, more than the ${LIMITS.documentChars.toLocaleString('en')} the studio reads at once; use 'spear synth --file' for whole books`,
      );
    }
    if (doc.text.trim() === '')
      throw new DocumentImportError(`${name}: has no text to read${doc.format === 'pdf' ? ' (a scanned PDF has no text layer)' : ''}`);
    return doc;
  }

  synthesize(doc: string, options: SynthesizeOptions): JobId {
    return this.startExclusive('synthesis', async (job, voice) => {
      const started = performance.now();
      const lexicon = await this.lexicon.compiled();
      // Resolved once the voice is open: its opening read the stored calibration.
      await this.backend.synthesize(voice, doc, this.resolve(options), {
        lexicon,
        signal: job.controller.signal,
        onEvent: (event) => {
          if (job.controller.signal.aborted) return;
          if (event.type === 'audio') {
            job.audio.add(event.sentence, { samples: event.samples, sampleRate: event.sampleRate, offsetSamples: event.offsetSamples });
          }
          this.emit({ type: 'job', jobId: job.id, t: performance.now() - started, event });
        },
      });
    });
  }

  sweep(doc: string, options: SweepOptions): JobId {
    const base = { temperature: options.temperature ?? 0, topK: options.topK, topP: options.topP, seed: options.seed ?? 0 };
    return this.startExclusive('sweep', async (job, voice) => {
      const signal = job.controller.signal;
      // The default gammas stop at what the strategy drafts (medusa: its heads); gammas asked for are run as asked.
      const limit = this.backend.gammaLimit?.(voice, options.strategy) ?? Infinity;
      const gammas = options.gammas ?? DEFAULT_SWEEP_GAMMAS.filter((g) => g <= limit);
      const total = gammas.length + 1;
      // Every run decodes the same work, as `spear bench` does: each sentence read once (re-readings use
      // the voice's own strategy whatever is swept, and sampled ones differ run to run), spoken after
      // its batch decodes rather than beside it (speaking shares the two cores with decoding).
      const run = (settings: Partial<SynthesisSettings>): Promise<SynthesisSummary> =>
        this.backend.synthesize(voice, doc, settings, { signal, onEvent: () => undefined, rereadings: 0, speakWhileDecoding: false, wordTimings: false });
      this.emit({ type: 'sweep-progress', jobId: job.id, done: 0, total, label: 'ar (baseline)' });
      const baseline = await run({ ...base, strategy: 'ar', gamma: 1 });
      const runs: SynthesisSummary[] = [];
      for (const [i, gamma] of gammas.entries()) {
        if (signal.aborted) return;
        this.emit({ type: 'sweep-progress', jobId: job.id, done: i + 1, total, label: `${options.strategy}, gamma ${gamma}` });
        const summary = await run({ ...base, strategy: options.strategy, gamma });
        runs.push(summary);
        const partial = summarizeSweep(options.strategy, baseline.tokensPerSecond, runs, gammas);
        this.emit({ type: 'sweep-progress', jobId: job.id, done: i + 2, total, label: `${options.strategy}, gamma ${gamma}`, point: partial.points.at(-1) });
      }
      this.emit({ type: 'sweep-done', jobId: job.id, result: summarizeSweep(options.strategy, baseline.tokensPerSecond, runs, gammas) });
    });
  }

  /** The strategies the voice runs, opening it if it is not open. */
  async listStrategies(): Promise<StrategyInfo[]> {
    const voice = await this.voice();
    return strategyInfo(
      this.backend.strategies(voice),
      (strategy) => this.backend.gammaLimit?.(voice, strategy) ?? Infinity,
      this.backend.verifiesTrees?.(voice),
    );
  }

  /**
   * Runs ar and each strategy at each gamma on `doc` with the core's interleaved schedule (`spear
   * bench`'s): a warm-up pass, in which each configuration reads the first sentence and is not
   * measured (a drafter's chain for each gamma is opened there, not inside a timed run), then
   * `repeats` rounds over the whole text, each configuration once per round in a rotated order.
   * Every run decodes the same work, as the sweep's do: one sentence at a time, each read once,
   * spoken after it decodes. A progress event before each run carries the cells measured so far.
   */
  async compare(doc: string, options: CompareOptions): Promise<JobId> {
    checkCompareRequest(doc, options, await this.listStrategies());
    const repeats = options.repeats ?? 1;
    const temperature = options.temperature ?? 0;
    const base: Partial<SynthesisSettings> = { temperature, topK: options.topK, topP: options.topP, seed: options.seed ?? 0, batchSize: 1 };
    const configs = benchConfigs(options.strategies, options.gammas);
    const warmUpRounds = 1;
    const firstSentence = splitSentences(doc)[0]?.text ?? doc;
    const machine = describeMachine(currentMachine());
    const result = (runs: ReadonlyMap<string, readonly SynthesisSummary[]>): CompareResult => {
      const cells = benchCells(configs, runs);
      const { strategies, gammas } = options;
      return { strategies, gammas, repeats, temperature, machine, runsDone: cells.reduce((n, c) => n + c.runs, 0), runsTotal: configs.length * repeats, cells };
    };
    const total = configs.length * (warmUpRounds + repeats);
    return this.startExclusive('compare', async (job, voice) => {
      const signal = job.controller.signal;
      let done = 0;
      let latest = result(new Map());
      this.keepComparison(job.id, latest);
      const runs = await runInterleaved({
        configs,
        repeats,
        warmUpRounds,
        signal,
        onRun: (position) =>
          this.emit({ type: 'compare-progress', jobId: job.id, done: done++, total, label: positionLabel(position, warmUpRounds), result: latest }),
        run: ({ config, warmUp }) =>
          this.backend.synthesize(
            voice,
            warmUp ? firstSentence : doc,
            { ...base, strategy: config.strategy, gamma: config.gamma || 1 },
            {
              signal,
              onEvent: () => undefined,
              rereadings: 0,
              speakWhileDecoding: false,
              wordTimings: false,
            },
          ),
        onMeasured: (_position, measured) => {
          latest = result(measured);
          this.keepComparison(job.id, latest);
        },
      });
      this.emit({ type: 'compare-done', jobId: job.id, result: result(runs) });
    });
  }

  /**
   * Writes a comparison's results to `file`, atomically. The caller chose `file`: the Electron main
   * process from its save dialog, the browser-mode server inside its own temp folder.
   */
  async exportCompare(jobId: JobId, format: ResultsFormat, file: string): Promise<{ bytes: number }> {
    const result = this.comparisons.get(jobId);
    if (!result)
      throw new CompareRequestError(`comparison ${jobId} is unknown or its results were released (only the last ${KEPT_COMPARISONS} are kept); run it again`);
    const text = formatCompareResults(result, format);
    await writeFileAtomic(file, text);
    return { bytes: Buffer.byteLength(text) };
  }

  cancel(id: JobId): void {
    const job = this.jobs.get(id);
    if (job) job.controller.abort();
    this.calibration.cancel(id);
  }

  /**
   * Writes a job's audio (one sentence or all of it so far) to `file`. The caller chose `file`: the
   * Electron main process from its save dialog, the browser-mode server inside its own temp folder.
   */
  async exportAudio(jobId: JobId, format: AudioFormat, options: ExportOptions, file: string): Promise<{ bytes: number }> {
    const source = this.jobs.get(jobId);
    if (source?.kind !== 'synthesis') throw new JobNotFoundError(jobId);
    const controller = new AbortController();
    const exportJob: Job = { id: options.exportId, kind: 'export', controller, audio: new JobAudio(), done: Promise.resolve() };
    this.jobs.set(exportJob.id, exportJob);
    const progress = (phase: 'collecting' | 'encoding' | 'done', fraction: number): void =>
      this.emit({ type: 'export-progress', exportId: options.exportId, phase, fraction });
    try {
      progress('collecting', 0);
      const audio = source.audio.assemble(options.sentence);
      if (!audio) {
        throw new Error(
          options.sentence === undefined ? 'this job has no audio yet; wait for the first sentence' : `sentence ${options.sentence + 1} has no audio yet`,
        );
      }
      await this.writeWithProgress(file, audio.samples, audio.sampleRate, format, controller.signal, (f) => progress('encoding', f));
      const { size } = await stat(file);
      progress('done', 1);
      return { bytes: size };
    } finally {
      this.jobs.delete(exportJob.id);
    }
  }

  /** Streams the samples to the writer in chunks, reporting the share written and stopping on cancel. */
  private async writeWithProgress(
    file: string,
    samples: Float32Array,
    sampleRate: number,
    format: AudioFormat,
    signal: AbortSignal,
    onProgress: (fraction: number) => void,
  ): Promise<void> {
    if (!this.backend.openAudioWriter) {
      onProgress(0);
      await this.backend.writeAudioFile(file, samples, sampleRate, format, { signal });
      return;
    }
    const writer = await this.backend.openAudioWriter(file, sampleRate, format);
    try {
      const chunk = sampleRate * EXPORT_CHUNK_SECONDS;
      for (let i = 0; i < samples.length; i += chunk) {
        if (signal.aborted) throw new ExportCancelledError(file);
        onProgress(i / samples.length);
        await writer.write(samples.subarray(i, i + chunk));
      }
      if (signal.aborted) throw new ExportCancelledError(file);
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  listProviders(): ProvidersInfo {
    return { available: this.backend.availableProviders(), active: this.activeReport };
  }

  getSettings(): StudioSettings {
    return this.settings.get();
  }

  async setSettings(patch: Partial<StudioSettings>): Promise<StudioSettings> {
    const before = this.settings.get();
    const after = await this.settings.update(patch);
    if (after.provider !== before.provider || after.threads !== before.threads || after.useCalibration !== before.useCalibration) this.reopenVoice();
    return after;
  }

  getLexicon(): Promise<LexiconInfo> {
    return this.lexicon.info();
  }

  addLexiconEntry(word: string, pronunciation: string): Promise<LexiconInfo> {
    return this.lexicon.add(word, pronunciation);
  }

  removeLexiconEntry(word: string): Promise<LexiconInfo> {
    return this.lexicon.remove(word);
  }

  /**
   * The word alone, read with `pronunciation` (checked, not saved) or the lexicon, as a WAV. It holds
   * the voice like a job: refused while one runs, cancelled by one that starts.
   */
  async hearWord(word: string, pronunciation: string | null): Promise<PronunciationPreview> {
    const checked = checkWord(word);
    const saved = await this.lexicon.compiled();
    const lexicon = pronunciation === null ? saved : new Map([...(saved ?? []), ...compileLexicon([makeEntry(checked, pronunciation)])]);
    const phonemes = idsToTokens(prepareDocument(checked, { lexicon })[0]?.phonemeIds ?? []).filter((p) => /^[A-Z]/.test(p));
    if (this.disposed) throw new Error('the synthesis service is shutting down');
    if (this.current) throw new VoiceBusyError();
    const controller = new AbortController();
    const job: Job = { id: randomUUID(), kind: 'hear', controller, audio: new JobAudio(), done: Promise.resolve() };
    const reading = (async () => {
      // A calibration measuring now gives way, as it does to a job.
      await this.calibration.pause();
      const voice = await this.voice();
      const chunks: { samples: Float32Array; offsetSamples: number; sampleRate: number }[] = [];
      const cancelled = new CancelledError(`hearing "${checked}"`);
      await this.backend
        .synthesize(voice, checked, this.resolve({}), {
          lexicon,
          signal: controller.signal,
          rereadings: 0,
          wordTimings: false,
          onEvent: (event) => {
            if (event.type === 'audio') chunks.push(event);
          },
        })
        .catch((error: unknown) => {
          throw controller.signal.aborted ? cancelled : error;
        });
      if (controller.signal.aborted) throw cancelled;
      const sampleRate = chunks[0]?.sampleRate ?? 16_000;
      const samples = new Float32Array(chunks.reduce((n, c) => Math.max(n, c.offsetSamples + c.samples.length), 0));
      for (const c of chunks) samples.set(c.samples, c.offsetSamples);
      return { word: checked, phonemes, wavBase64: Buffer.from(encodeWav(samples, sampleRate)).toString('base64') };
    })();
    job.done = reading.then(
      () => undefined,
      () => undefined,
    );
    this.current = job;
    this.jobs.set(job.id, job);
    try {
      return await reading;
    } finally {
      if (this.current === job) this.current = undefined;
      this.jobs.delete(job.id);
      this.calibration.whenIdle();
    }
  }

  getCalibration(): CalibrationInfo {
    return this.calibration.info;
  }

  /** Measures this machine as soon as no job runs; returns the id `cancel` stops it with. */
  calibrate(): JobId {
    if (this.disposed) throw new Error('the synthesis service is shutting down');
    if (this.calibration.info.state === 'unavailable') throw new Error(`calibration is not available here (${this.backend.name} keeps no calibration)`);
    return this.calibration.request();
  }

  /** Cancels everything and releases the voice's ONNX sessions. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.calibration.stop();
    for (const job of this.jobs.values()) job.controller.abort();
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
    const voice = this.voicePromise;
    this.voicePromise = undefined;
    if (voice) await voice.then((v) => v.release()).catch(() => undefined);
  }

  // ---------------------------------------------------------------- internals

  private resolve(options: SynthesizeOptions): Partial<SynthesisSettings> {
    const s = this.settings.get();
    const calibrated = this.calibrated();
    const settings: Partial<SynthesisSettings> = { ...options };
    settings.strategy = options.strategy ?? calibrated?.best.strategy ?? s.defaultStrategy;
    const calibratedGamma = calibrated?.byStrategy[settings.strategy]?.gamma;
    // Adaptive gamma where the calibration timed it faster for this strategy, or where the job asks for it.
    const adaptive = calibrated?.adaptive?.strategy === settings.strategy ? calibrated.adaptive : undefined;
    settings.gamma = options.gamma ?? (adaptive?.chosen ? 'auto' : calibratedGamma || s.defaultGamma);
    if (settings.gamma === 'auto' && adaptive) {
      settings.draftConfidence ??= adaptive.draftConfidence;
      settings.maxGamma ??= adaptive.maxGamma;
    }
    return settings;
  }

  /** The calibration jobs and the voice follow, when the settings say to use one. */
  private calibrated(): Calibration | null {
    return this.settings.get().useCalibration ? this.calibration.stored : null;
  }

  /** The voice's thread counts: the calibrated split, else the settings' one count for every graph. */
  private threadCounts(): { threads?: number; targetThreads?: number } {
    const best = this.calibrated()?.best;
    return best ? { threads: best.threads, targetThreads: best.targetThreads } : { threads: this.settings.get().threads };
  }

  /** The running job keeps its voice; the next one opens a voice with the new settings. */
  private reopenVoice(): void {
    const old = this.voicePromise;
    this.voicePromise = undefined;
    this.activeReport = null;
    if (old) void this.releaseWhenIdle(old);
  }

  /** A new calibration whose split differs from the open voice's: the next job opens the voice again. */
  private reopenForCalibration(): void {
    const wanted = this.threadCounts();
    if (wanted.threads !== this.openThreads.threads || wanted.targetThreads !== this.openThreads.targetThreads) this.reopenVoice();
  }

  private voice(options: { warm?: boolean } = {}): Promise<VoiceLike> {
    if (!this.voicePromise) {
      const { provider } = this.settings.get();
      // The stored calibration is read first (a hash of the manifest): it may set the thread counts.
      const opened = this.calibration.loaded().then(() => {
        this.openThreads = this.threadCounts();
        // A document's sentences decode on every core (the pool starts with the voice; one sentence never uses it).
        return this.backend.openVoice(this.backend.voiceDir, { provider, ...this.openThreads, workers: autoWorkers() });
      });
      const opening = options.warm ? opened.then((voice) => this.warmUp(voice)) : opened;
      this.voicePromise = opening;
      opening.then(
        (voice) => {
          if (this.voicePromise !== opening) return;
          this.activeReport = voice.provider;
          this.emit({ type: 'provider', report: voice.provider });
          this.calibration.whenIdle();
        },
        () => {
          // A failed open is reported by the job that asked; the next job tries again.
          if (this.voicePromise === opening) this.voicePromise = undefined;
        },
      );
    }
    return this.voicePromise;
  }

  /** One short reading through the whole pipeline, heard by no one; a failure leaves the voice as it was. */
  private async warmUp(voice: VoiceLike): Promise<VoiceLike> {
    await this.backend
      .synthesize(voice, WARM_UP_TEXT, this.resolve({}), { onEvent: () => undefined, speakWhileDecoding: false, wordTimings: false })
      .catch(() => undefined);
    return voice;
  }

  private async releaseWhenIdle(voice: Promise<VoiceLike>): Promise<void> {
    await this.current?.done;
    await voice.then((v) => v.release()).catch(() => undefined);
  }

  private keepComparison(id: JobId, result: CompareResult): void {
    this.comparisons.delete(id);
    this.comparisons.set(id, result);
    for (const old of [...this.comparisons.keys()].slice(0, Math.max(0, this.comparisons.size - KEPT_COMPARISONS))) this.comparisons.delete(old);
  }

  private startExclusive(kind: 'synthesis' | 'sweep' | 'compare', body: (job: Job, voice: VoiceLike) => Promise<void>): JobId {
    if (this.disposed) throw new Error('the synthesis service is shutting down');
    const id = randomUUID();
    const controller = new AbortController();
    const previous = this.current;
    previous?.controller.abort();
    const job: Job = { id, kind, controller, audio: new JobAudio(), done: Promise.resolve() };
    job.done = (async () => {
      await previous?.done;
      // A calibration measuring now gives way (it runs again once the service is idle).
      await this.calibration.pause();
      try {
        if (controller.signal.aborted) throw controller.signal.reason;
        const voice = await this.voice();
        await body(job, voice);
        if (controller.signal.aborted) this.emit({ type: 'job-canceled', jobId: id });
      } catch (error) {
        if (controller.signal.aborted) this.emit({ type: 'job-canceled', jobId: id });
        else this.emit({ type: 'job-error', jobId: id, message: errorMessage(error) });
      } finally {
        if (this.current === job) this.current = undefined;
        if (kind !== 'synthesis') this.jobs.delete(id);
        this.calibration.whenIdle();
      }
    })();
    this.current = job;
    this.jobs.set(id, job);
    this.dropOldJobs();
    return id;
  }

  private dropOldJobs(): void {
    const synthesis = [...this.jobs.values()].filter((j) => j.kind === 'synthesis');
    for (const old of synthesis.slice(0, Math.max(0, synthesis.length - this.keepJobs))) this.jobs.delete(old.id);
  }
}

/** What prepare() reads to warm the voice up: a common sentence, long enough for a few drafting steps. */
const WARM_UP_TEXT = 'The voice is ready to read.';

/**
 * An error as the studio shows it: its message, in words. The class name (NothingToSayError) is for
 * code, not for the person reading the notice; an error without a message falls back to it.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
