/**
 * What the service needs from the synthesis pipeline, as one injectable object: the real pipeline
 * (real-backend.ts) in the app and in `npm run serve`, a fake (tests/helpers/fake-synthesizer.ts) in
 * tests that must run without the trained voice. The signatures are the pipeline's own.
 */
import type { PipelineEvent, SynthesisSettings, SynthesisSummary } from '../core/pipeline/events.ts';
import type { Provider, ProviderReport } from '../core/engine/model.ts';
import type { Strategy } from '../core/engine/decode.ts';
import type { AudioFormat } from '../ipc-contract.ts';
import type { UserLexicon } from '../core/text/user-lexicon.ts';
import type { Calibration, StoredCalibration } from '../core/calibration/store.ts';

/** What the service touches of a pipeline `Voice`. */
export interface VoiceLike {
  provider: ProviderReport;
  /** The manifest's recommendations (electron/core/pipeline/voice.ts `VoiceSection`). */
  section?: { default_strategy?: SynthesisSettings['strategy']; default_gamma?: number; default_temperature?: number };
  release(): Promise<void>;
}

export interface SynthesizeHooks {
  onEvent(event: PipelineEvent): void;
  signal?: AbortSignal;
  /** The pipeline's (electron/core/pipeline/synthesize.ts): speak each batch while the next decodes. Default true. */
  speakWhileDecoding?: boolean;
  /** The pipeline's: how often the reading check re-reads a sentence it sends back (default: the voice's). */
  rereadings?: number;
  /** The pipeline's: emit each sentence's word timings ('words' events). Default true. */
  wordTimings?: boolean;
  /** The pipeline's: the user's pronunciations to read the text with. Default none. */
  lexicon?: UserLexicon;
}

export interface SynthesisBackend<V extends VoiceLike = VoiceLike> {
  /** Human-readable name for logs and the UI ("shipped voice", "fake voice"). */
  name: string;
  /** The voice directory openVoice is given. */
  voiceDir: string;
  availableProviders(): Provider[];
  /** `workers`: decoder workers for documents (electron/core/engine/pool.ts); a backend without them ignores it. */
  openVoice(dir: string, options: { provider?: Provider; threads?: number; targetThreads?: number; workers?: number }): Promise<V>;
  /** The strategies `voice` can run: the engine's, those whose graphs it has. */
  strategies(voice: V): Strategy[];
  /** The largest gamma `strategy` drafts with `voice` (medusa: its heads); absent: no limit below the service's own. */
  gammaLimit?(voice: V, strategy: Strategy): number;
  /** Whether `voice` verifies medusa's draft trees (the engine refuses them on the int8 target); absent: yes. */
  verifiesTrees?(voice: V): boolean;
  /** Per-machine calibration (electron/core/calibration); absent where the backend cannot calibrate. */
  calibration?: CalibrationBackend<V>;
  synthesize(voice: V, text: string, settings: Partial<SynthesisSettings>, hooks: SynthesizeHooks): Promise<SynthesisSummary>;
  /** Atomic: the file appears complete or not at all. */
  openAudioWriter?(path: string, sampleRate: number, format: AudioFormat): Promise<AudioWriter>;
  /** Atomic: the file appears complete or not at all. Used when there is no openAudioWriter. */
  writeAudioFile(path: string, samples: Float32Array, sampleRate: number, format: AudioFormat, options: { signal?: AbortSignal }): Promise<void>;
}

export interface CalibrationBackend<V extends VoiceLike = VoiceLike> {
  /** This machine, as "AMD EPYC, 2 cores". */
  machine: string;
  /** The stored calibration of the voice in `voiceDir` on this machine, or why there is none. */
  load(voiceDir: string): Promise<StoredCalibration>;
  /** Measures and stores a new one, using the open voice's decoder for the acceptance run. */
  run(voice: V, options: { signal: AbortSignal; onProgress(fraction: number): void }): Promise<Calibration>;
}

/** electron/core/audio/write.ts `AudioFileWriter`: streaming and atomic (abort leaves no file). */
export interface AudioWriter {
  write(samples: Float32Array): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/** A module a service host can load its backend from: it exports `createBackend`. */
export interface BackendModule {
  /** `calibrationDir`: where calibrations are kept; absent, the backend does not calibrate. */
  createBackend(options: { voiceDir?: string; calibrationDir?: string }): Promise<SynthesisBackend> | SynthesisBackend;
}
