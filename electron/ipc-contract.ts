/**
 * The one contract between the renderer and whatever hosts the synthesis service: the Electron main
 * process (IPC through electron/app/preload.ts) or the browser-mode server (a WebSocket, electron/server/).
 *
 * The renderer imports this file with `import type` only. It imports nothing itself, so the renderer's
 * TypeScript project (which has no Node types) can read it; the wire types below restate the pipeline's
 * and the engine's, and electron/service/contract-conformance.ts proves at compile time that they are
 * the same types, so the two cannot drift apart.
 */

// ---------------------------------------------------------------- restated pipeline/engine types

/** electron/core/engine/decode.ts `Strategy`. */
export type Strategy = 'ar' | 'draft' | 'early-exit' | 'eagle' | 'layer-skip' | 'medusa' | 'prophet';
/** electron/core/engine/model.ts `Provider`. */
export type Provider = 'cpu' | 'webgpu' | 'cuda';
/** electron/core/audio/write.ts `AudioFormat`. */
export type AudioFormat = 'wav' | 'mp3' | 'flac' | 'opus';

/** electron/core/engine/model.ts `ProviderReport`. */
export interface ProviderReport {
  requested: Provider;
  used: Provider;
  /** Why the requested provider was not used; absent when it was. */
  fallbackReason?: string;
}

/** electron/core/pipeline/events.ts `SentenceSpan`. */
export interface SentenceSpan {
  index: number;
  text: string;
  /** Character offsets [start, end) into the document as given. */
  start: number;
  end: number;
}

/** electron/core/pipeline/word-timing.ts `WordTiming`: a written word and when it is heard. */
export interface WordTiming {
  text: string;
  /** Character offsets [start, end) into the document. */
  start: number;
  end: number;
  /** Seconds into the document's audio. */
  startSeconds: number;
  endSeconds: number;
}

/** electron/core/pipeline/events.ts `SynthesisSettings`. */
export interface SynthesisSettings {
  strategy: Strategy;
  /**
   * Drafted tokens per step, 1 … 16, or 'auto': up to maxGamma, each sentence stopping its drafts where
   * the drafter's confidence falls below draftConfidence.
   */
  gamma: number | 'auto';
  /** With gamma 'auto': the most drafts per step (default 8) and the confidence threshold (default 0.5). */
  maxGamma?: number;
  draftConfidence?: number;
  /**
   * 'exact' (default): lossless. 'groups': lossy, a draft in the target's unit group is accepted (the
   * voice's unit_groups; never the default, and never counted as lossless).
   */
  acceptance?: 'exact' | 'groups';
  /** Drafts per sentence and step, K (1–8; default 1); K > 1 samples K drafts and verifies them with SpecTr. */
  drafts?: number;
  /**
   * 'medusa': verify a tree of the heads' candidates instead of a chain; its depth replaces gamma. The
   * candidates per depth (`[2, 1]`) or the nodes as rank paths (`[[0], [1], [0, 0]]`).
   */
  tree?: readonly number[] | readonly (readonly number[])[];
  /** 0 = greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  batchSize: number /** Speaking rate, 0.5–2 (1: the voice's own); the pitch is kept. Default 1. */;
  rate?: number;
  /** Pitch shift in semitones, −6…6; the formants are kept. Default 0. */
  pitch?: number;
  /** Output gain, 0–2 (1: unchanged; above 1 may clip loud passages). Default 1. */
  volume?: number;
  /** Silence after a sentence, ms (0–5000). Default 300. */
  sentencePauseMs?: number;
  /** Silence after a paragraph (a blank line, a heading, a chapter break), ms (0–5000). Default 600. */
  paragraphPauseMs?: number;
}

/** electron/core/engine/stats.ts `DecodeSummary`. */
export interface DecodeSummary {
  tokens: number;
  targetCalls: number;
  drafted: number;
  accepted: number;
  /** α: accepted / (accepted + rejections). */
  acceptanceRate: number;
  draftUseRate: number;
  /** τ: tokens emitted per target call. */
  tokensPerTargetCall: number;
  /** τ under its older wire name (the same value as tokensPerTargetCall). */
  meanAcceptedTokens: number;
  gamma: number;
  /** Drafts per row-step: gamma, or less under adaptive gamma. */
  meanDrafted: number;
  /** c: one drafter call over one target call. */
  costRatio: number;
  theoreticalSpeedup: number;
  draftMs: number;
  verifyMs: number;
  prefillMs: number;
  batchSteps: number;
}

/** electron/core/pipeline/events.ts `SynthesisSummary`. */
export interface SynthesisSummary {
  strategy: Strategy;
  gamma: number | 'auto';
  sentences: number;
  decode: DecodeSummary;
  decodeSeconds: number;
  seconds: number;
  audioSeconds: number;
  rtf: number;
  tokensPerSecond: number;
  timeToFirstAudioMs: number;
  /** Sentences whose first reading failed the reading check and were read again. */
  rereadSentences: number;
}

/** What the reading check said of a sentence (electron/core/pipeline/reading-check.ts). */
export interface ReadingCheckResult {
  /** Nats per phone of the first (greedy, by default) reading; lower is better. */
  score: number;
  /** Sampled re-readings tried because the score failed the voice's threshold (0: it passed). */
  rereadings: number;
  /** Which reading is spoken: 0 the first, k the k-th re-reading. */
  chosen: number;
  /** Score of the reading spoken. */
  chosenScore: number;
}

/** electron/core/pipeline/events.ts `PipelineEvent`. */
export type PipelineEvent =
  | { type: 'warning'; message: string }
  | { type: 'sentences'; sentences: SentenceSpan[] }
  | {
      type: 'step';
      sentence: number;
      step: number;
      drafted: number[];
      accepted: number;
      token: number;
      bonus: boolean;
      emitted: number;
      draftMs: number;
      verifyMs: number;
    }
  | { type: 'units'; sentence: number; units: number[]; steps: number; drafted: number; accepted: number; check?: ReadingCheckResult }
  | { type: 'audio'; sentence: number; samples: Float32Array; sampleRate: number; offsetSamples: number }
  /** A sentence's written words and when each is heard (seconds into the document's audio); after its audio. */
  | { type: 'words'; sentence: number; words: WordTiming[] }
  | { type: 'done'; summary: SynthesisSummary };

export type StepPipelineEvent = Extract<PipelineEvent, { type: 'step' }>;

// ---------------------------------------------------------------- the studio's own types

/** electron/core/import/index.ts `ImportedDocument`. */
export interface ImportedDocument {
  text: string;
  format: 'text' | 'markdown' | 'html' | 'epub' | 'pdf';
  /** The book's title, where the file names one (EPUB). */
  title?: string;
}

/** A synthesis job, a sweep, a comparison or an export: one id space, one `cancel`. */
export type JobId = string;

/** Limits the service enforces on what the renderer sends (the renderer shows them before sending). */
export const LIMITS = {
  /** Characters of one document (a UTF-16 count; about 1 MB of text). */
  documentChars: 1_000_000,
  /** Bytes of a dropped file the renderer reads at all. */
  fileBytes: 1_048_576,
  /** Bytes of a dropped EPUB, PDF or HTML file sent to the service to be read into text (base64 over the wire). */
  importBytes: 5_242_880,
  gammaMin: 1,
  gammaMax: 16,
  /** The largest gamma the Compare view runs. */
  compareGammaMax: 8,
  /** Measured rounds of one comparison at most. */
  compareRepeatsMax: 20,
  threadsMax: 64,
  /** Letters of a word of the user's lexicon (electron/core/text/user-lexicon.ts LEXICON_LIMITS, proven equal). */
  lexiconWordChars: 64,
  /** Characters of a pronunciation: phonemes or a respelling (LEXICON_LIMITS, proven equal). */
  lexiconPronunciationChars: 200,
} as const;

/**
 * How long a text will sound before it is decoded (electron/core/pipeline/estimate.ts SPEECH_ESTIMATE;
 * contract-conformance.ts proves the values equal): words × secondsPerWord ÷ rate, plus the pauses.
 */
export const SPEECH_ESTIMATE = { secondsPerWord: 0.332, sentencePauseSeconds: 0.3, paragraphPauseSeconds: 0.6 } as const;

/**
 * Sizes of exported speech by format (electron/core/audio/formats.ts and encoders.ts, proven equal):
 * FLAC's share of 16-bit PCM's size on the voice's speech, the MP3 and Opus bit rates, and the most
 * sample bytes a WAV file can hold.
 */
export const EXPORT_ESTIMATE = { flacRatio: 0.45, mp3Kbps: 48, opusKbps: 24, wavMaxDataBytes: 4_294_967_259 } as const;

/** What the user tunes per job; everything optional falls back to the settings and the voice. */
export type SynthesizeOptions = Partial<SynthesisSettings>;

export interface StudioSettings {
  /** Execution provider to try first; a failed GPU provider falls back to CPU (reported). */
  provider: Provider;
  /** Intra-op threads per ONNX Runtime session; 0 lets ONNX Runtime choose. */
  threads: number;
  defaultStrategy: Strategy;
  defaultGamma: number;
  /**
   * Use this machine's calibration (StudioApi.calibrate) for the strategy, gamma and threads a job
   * does not set; the default strategy, gamma and threads above apply where there is none.
   */
  useCalibration: boolean;
}

/** The fastest configuration calibration predicted for this machine and voice (electron/core/calibration). */
export interface CalibrationChoice {
  strategy: Strategy;
  /** 0 for ar. */
  gamma: number;
  /** Intra-op threads of the drafting graphs, and of the verifying ones (full, rest). */
  threads: number;
  targetThreads: number;
  /** Predicted units/s, greedy, one sentence at a time. */
  tokensPerSecond: number;
  /** Predicted speedup over ar with the same threads. */
  speedup: number;
}

/** electron/core/calibration/adaptive.ts `AdaptiveChoice`. */
export interface CalibrationAdaptive {
  strategy: Strategy;
  draftConfidence: number;
  maxGamma: number;
  speedupOverFixed: number;
  chosen: boolean;
}

export interface CalibrationInfo {
  /**
   * none: not calibrated (it runs by itself once the voice is idle); running: measuring now;
   * ready: `choice` holds; failed: `message` says why; unavailable: this service cannot calibrate.
   */
  state: 'none' | 'running' | 'ready' | 'failed' | 'unavailable';
  /** The machine calibrated for, as "AMD EPYC, 2 cores". */
  machine: string;
  choice: CalibrationChoice | null;
  /** Each strategy's calibrated gamma: a strategy the user picks gets its own. */
  gammas: Partial<Record<Strategy, number>>;
  /**
   * Adaptive gamma timed against the choice's fixed gamma (electron/core/calibration/adaptive.ts);
   * `chosen`: it was faster, and the studio starts with it.
   */
  adaptive: CalibrationAdaptive | null;
  /** While running: the fraction done, and the job id `cancel` stops. */
  progress: number | null;
  jobId: JobId | null;
  /** One line: why a stored calibration was ignored, or why measuring failed. */
  message: string | null;
}

export interface ProvidersInfo {
  /** Providers this build of onnxruntime-node offers on this machine. */
  available: Provider[];
  /** The loaded voice's report, null until a voice is open. */
  active: ProviderReport | null;
}

export interface SweepOptions {
  /** A drafting strategy (not 'ar': the sweep runs `ar` once itself, as the baseline). */
  strategy: Exclude<Strategy, 'ar'>;
  /** Default 1 … 8. */
  gammas?: number[];
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

export interface SweepPoint {
  gamma: number;
  tokensPerSecond: number;
  /** α measured at this gamma. */
  acceptanceRate: number;
  /** τ measured at this gamma. */
  meanAcceptedTokens: number;
  /** c measured at this gamma. */
  costRatio: number;
  /** tokensPerSecond / the ar baseline's. */
  measuredSpeedup: number;
  /** Theorem 3.8 with this point's own α and c. */
  theoreticalSpeedup: number;
}

export interface SweepResult {
  strategy: Exclude<Strategy, 'ar'>;
  baselineTokensPerSecond: number;
  points: SweepPoint[];
  /** The theoretical curve: one α and c for the whole sweep (token-weighted means), every gamma. */
  theory: { alpha: number; costRatio: number; curve: { gamma: number; speedup: number; tokensPerSecond: number }[] };
  /** The gamma with the highest measured tokens/s. */
  bestGamma: number;
}

/** A strategy the open voice can run, and the gammas the Compare view may run it at. */
export interface StrategyInfo {
  strategy: Strategy;
  /** Ascending; empty for ar, which drafts nothing. */
  gammas: number[];
  /** medusa: whether the voice verifies its draft trees (false with the int8 target: chains only). */
  trees?: boolean;
}

export interface CompareOptions {
  /** Drafting strategies, each once (ar is always run: it is the baseline). */
  strategies: Exclude<Strategy, 'ar'>[];
  /** Each once, from 1 to LIMITS.compareGammaMax. */
  gammas: number[];
  /** Measured rounds, each running every configuration once (after one discarded warm-up pass). Default 1. */
  repeats?: number;
  /** Default 0 (greedy). */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

/** electron/core/eval/bench.ts `BenchCell`: one configuration's numbers over its measured runs. */
export interface CompareCell {
  strategy: Strategy;
  /** 0 for ar; 'auto' for adaptive gamma (the core's bench measures it; the Compare view asks for fixed gammas). */
  gamma: number | 'auto';
  /** K, drafts per step (SpecTr above 1); absent means 1. */
  drafts?: number;
  /** Measured runs these numbers are over. */
  runs: number;
  sentences: number;
  /** Units decoded by one run. */
  tokens: number;
  /** Wall time of one run, decoding and speaking. */
  seconds: number;
  /** Units per second of decoding (median). */
  tokensPerSecond: number;
  /** Median units/s over ar's median (1 for ar). */
  speedup: number;
  /** Lowest and highest of the per-round speedups (each run over ar's run of the same round). */
  speedupMin: number;
  speedupMax: number;
  /** α: accepted / (accepted + rejections); 0 for ar. */
  acceptanceRate: number;
  /** τ: units emitted per target call (1 for ar). */
  tokensPerTargetCall: number;
  /** Drafts per step: gamma, or fewer under adaptive gamma; 0 for ar. */
  meanDrafted: number;
  /** c: one drafter call over one target call; 0 for ar. */
  costRatio: number;
  /** Leviathan et al. Theorem 3.8 with this cell's α and c. */
  theoreticalSpeedup: number;
  rtf: number;
  timeToFirstAudioMs: number;
}

/** A comparison so far (a progress event's) or finished: what was asked, and every cell measured. */
export interface CompareResult {
  strategies: Exclude<Strategy, 'ar'>[];
  gammas: number[];
  repeats: number;
  temperature: number;
  /** The machine measured, as "AMD EPYC, 2 cores". */
  machine: string;
  /** Measured runs done and in all (the warm-up pass not counted). */
  runsDone: number;
  runsTotal: number;
  /** ar first, then each strategy at each gamma; only cells with a measured run. */
  cells: CompareCell[];
}

/** What a comparison's results are exported as. */
export type ResultsFormat = 'json' | 'csv';

/** A word of the user's pronunciation lexicon, as the studio lists it. */
export interface LexiconEntryView {
  /** As the user wrote it; it matches in any case, accents ignored. */
  word: string;
  /** The ARPAbet phones the word is said with (a respelling's, as read now). */
  phonemes: string[];
  /** The respelling the user gave ("win"), when the entry is one. */
  respelling?: string;
}

export interface LexiconInfo {
  /** Sorted by word. */
  entries: LexiconEntryView[];
  /** One line when the lexicon file, or some of its entries, could not be read and were ignored. */
  notice: string | null;
}

/** A word read aloud on its own, for the user to hear a pronunciation. */
export interface PronunciationPreview {
  word: string;
  /** The phones it was read with. */
  phonemes: string[];
  /** A 16-bit mono WAV file, base64. */
  wavBase64: string;
}

export type ExportResult =
  | { status: 'saved'; path: string; bytes: number }
  | { status: 'canceled' }
  /** Browser mode: the server wrote the file into its own temp folder; the renderer downloads it from `url`. */
  | { status: 'download'; url: string; fileName: string; bytes: number };

export interface ExportOptions {
  /** One sentence's audio; absent: the whole document. */
  sentence?: number;
  /** Chosen by the renderer so it can cancel before the export returns. */
  exportId: JobId;
}

/** Everything the service pushes to the renderer, on one channel. */
export type StudioEvent =
  /** `t`: milliseconds since the job started, stamped by the service when the pipeline emitted the event. */
  | { type: 'job'; jobId: JobId; t: number; event: PipelineEvent }
  | { type: 'job-error'; jobId: JobId; message: string }
  | { type: 'job-canceled'; jobId: JobId }
  | { type: 'sweep-progress'; jobId: JobId; done: number; total: number; label: string; point?: SweepPoint }
  | { type: 'sweep-done'; jobId: JobId; result: SweepResult }
  /** Before each run of a comparison: what runs next (`done` of `total` runs, warm-up included), and the cells so far. */
  | { type: 'compare-progress'; jobId: JobId; done: number; total: number; label: string; result: CompareResult }
  | { type: 'compare-done'; jobId: JobId; result: CompareResult }
  | { type: 'export-progress'; exportId: JobId; phase: 'collecting' | 'encoding' | 'done'; fraction: number }
  | { type: 'provider'; report: ProviderReport }
  | { type: 'calibration'; info: CalibrationInfo };

/**
 * The verbs the renderer may use (the preload exposes exactly these as `window.spear`; the browser
 * bridge implements them over the WebSocket). No paths cross this boundary: the main process asks the
 * user for the export path in its own save dialog.
 */
export interface StudioApi {
  /** Split a document into sentences the way synthesis will. */
  segment(doc: string): Promise<SentenceSpan[]>;
  /**
   * Reads a document (HTML, Markdown, EPUB, PDF, or plain text) into the text the studio reads: the
   * file's name (for its extension) and its bytes as base64. Headings and chapters become paragraphs.
   */
  importDocument(name: string, dataBase64: string): Promise<ImportedDocument>;
  synthesize(doc: string, options: SynthesizeOptions): Promise<JobId>;
  /** Cancels a synthesis job, a sweep, a comparison or an export; unknown or finished ids are ignored. */
  cancel(jobId: JobId): Promise<void>;
  /** Subscribes to every service event; returns the unsubscribe. */
  onDecodeEvent(callback: (event: StudioEvent) => void): () => void;
  exportAudio(jobId: JobId, format: AudioFormat, options: ExportOptions): Promise<ExportResult>;
  listProviders(): Promise<ProvidersInfo>;
  sweep(doc: string, options: SweepOptions): Promise<JobId>;
  /** The strategies the open voice can run (it is opened if it is not yet). */
  listStrategies(): Promise<StrategyInfo[]>;
  /**
   * Runs ar and each strategy at each gamma on `doc`, interleaved, `repeats` times (as `spear bench`
   * does); `compare-progress` events carry the cells as they are measured. A strategy or gamma the
   * voice cannot run is refused in one line.
   */
  compare(doc: string, options: CompareOptions): Promise<JobId>;
  /** Writes a comparison's results (finished, or as far as it got) as JSON or CSV: a save dialog, or a download in browser mode. */
  exportCompare(jobId: JobId, format: ResultsFormat): Promise<ExportResult>;
  getSettings(): Promise<StudioSettings>;
  /** Saves and applies; a provider or threads change reopens the voice. */
  setSettings(patch: Partial<StudioSettings>): Promise<StudioSettings>;
  /** The user's pronunciation lexicon (the file `spear lexicon` edits), read afresh. */
  getLexicon(): Promise<LexiconInfo>;
  /**
   * Adds or replaces a word's pronunciation: ARPAbet phonemes ("W IH1 N": capitals or stress digits)
   * or a respelling ("win"). Saved at once; the next synthesis uses it. A bad entry is refused in words.
   */
  addLexiconEntry(word: string, pronunciation: string): Promise<LexiconInfo>;
  removeLexiconEntry(word: string): Promise<LexiconInfo>;
  /**
   * Reads just the word aloud, with `pronunciation` when given (not saved) or else the lexicon. Refused
   * while a synthesis or sweep holds the voice; a synthesis started meanwhile cancels it.
   */
  hearWord(word: string, pronunciation: string | null): Promise<PronunciationPreview>;
  getCalibration(): Promise<CalibrationInfo>;
  /**
   * Measures this machine now (about 20 s on 2 cores; `calibration` events report it). It waits while
   * a job runs and `cancel(jobId)` stops it; the next jobs use the result.
   */
  calibrate(): Promise<JobId>;
}

/** The request/response verbs (everything but the subscription). */
export type InvokeMethod = Exclude<keyof StudioApi, 'onDecodeEvent'>;
export type InvokeArgs<M extends InvokeMethod> = Parameters<StudioApi[M]>;
export type InvokeResult<M extends InvokeMethod> = Awaited<ReturnType<StudioApi[M]>>;

/** Electron IPC channel of each verb, and the one event channel. */
export const INVOKE_CHANNEL_PREFIX = 'spear:';
export const EVENT_CHANNEL = 'spear:event';
export const INVOKE_METHODS = [
  'segment',
  'importDocument',
  'synthesize',
  'cancel',
  'exportAudio',
  'listProviders',
  'sweep',
  'listStrategies',
  'compare',
  'exportCompare',
  'getSettings',
  'setSettings',
  'getLexicon',
  'addLexiconEntry',
  'removeLexiconEntry',
  'hearWord',
  'getCalibration',
  'calibrate',
] as const satisfies readonly InvokeMethod[];

// ---------------------------------------------------------------- browser mode: WebSocket frames

/** Client → server (text frames, JSON; validated with zod on the server). */
export interface WsRequest<M extends InvokeMethod = InvokeMethod> {
  id: number;
  method: M;
  args: InvokeArgs<M>;
}

/** Server → client (text frames, JSON). An `audio` event's samples travel as a binary frame instead. */
export type WsMessage =
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: string }
  | { kind: 'event'; event: StudioEvent };

/**
 * Binary frame layout (an `audio` job event): uint32 little-endian header length H, H bytes of UTF-8
 * JSON (the StudioEvent with `samples` left out), zero padding to a multiple of 4, then the float32
 * samples (little-endian).
 */
export const WS_BINARY_ALIGN = 4;
