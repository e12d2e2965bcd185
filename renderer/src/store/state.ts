/**
 * The studio's one store, made of slices (document, decoding, playback, settings, sweep, compare,
 * export, notices, lexicon). The store holds state only; what changes it lives in actions.ts (user intent) and
 * apply-events.ts (service events, batched per animation frame by bridge.ts).
 */
import { create } from 'zustand';
import type {
  LexiconEntryView,
  CalibrationInfo,
  CompareResult,
  StrategyInfo,
  ProvidersInfo,
  ReadingCheckResult,
  SentenceSpan,
  Strategy,
  StudioSettings,
  SweepPoint,
  SweepResult,
  SynthesisSummary,
  WordTiming,
} from '../../../electron/ipc-contract.ts';
import { EMPTY_STATS, type RunningStats, type StepView } from '../lib/decode-stats.ts';
import type { SentenceAudio } from '../lib/waveform.ts';

export interface DocumentSlice {
  text: string;
  fileName: string | null;
  /** The service's split of `text` (refreshed as the user types). */
  sentences: SentenceSpan[];
  /** Why a dropped file was not read, or what was read. */
  fileMessage: { kind: 'error' | 'info'; text: string } | null;
}

export interface SentenceProgress {
  stats: RunningStats;
  /** The latest steps, oldest first (at most STEPS_KEPT). */
  steps: StepView[];
  /** Set when the sentence's units are final. */
  units: number | null;
  /** What the reading check said, once the units are final (null: no check, or not yet). */
  check: ReadingCheckResult | null;
}

export type JobStatus = 'idle' | 'starting' | 'running' | 'done' | 'canceled' | 'error';

export interface DecodingSlice {
  jobId: string | null;
  status: JobStatus;
  /** The text and sentences of the job (the document may be edited meanwhile). */
  jobText: string;
  jobSentences: SentenceSpan[];
  strategy: Strategy;
  gamma: number | 'auto';
  totals: RunningStats;
  perSentence: Record<number, SentenceProgress>;
  /** The sentence the acceptance view follows when the user picked one; null follows the decoder. */
  pinned: number | null;
  /** The first sentence still decoding (the one that will be heard next). */
  active: number | null;
  summary: SynthesisSummary | null;
  error: string | null;
  /** Each sentence's written words and when they are heard (the pipeline's 'words' events). */
  words: Record<number, WordTiming[]>;
}

export interface PlaybackSlice {
  /** Audio of the decoding job's sentences, as they arrive. */
  audio: Record<number, SentenceAudio>;
  playing: boolean;
  mode: 'document' | 'sentence' | null;
  /** The sentence being heard. */
  heard: number | null;
  /** Playhead, seconds into the document's audio. */
  position: number;
  /** Document playback reached a sentence that is still decoding. */
  waiting: boolean;
}

/** How 'medusa' verifies: one chain of gamma drafts, or a tree of its heads' candidates. */
export type MedusaTree = 'chain' | 'top2-top1' | 'sparse4';

export interface Tuning {
  strategy: Strategy;
  /** The gamma, or with `adaptive` the most drafts per step. */
  gamma: number;
  /** Adaptive gamma: each sentence stops drafting where the drafter is unsure (gamma 'auto'). */
  adaptive: boolean;
  /** Drafts per sentence and step, K (1–8); above 1, when sampling, SpecTr verifies the K drafts together. */
  drafts: number;
  /** 'medusa': a chain of gamma drafts, or one of MEDUSA_TREES (actions.ts) verified in one call. */
  tree: MedusaTree;
  temperature: number;
  topK: number | null;
  topP: number | null;
  /** Speaking rate 0.5–2, pitch kept. */
  rate: number;
  /** Semitones, −6…6. */
  pitch: number;
  /** Gain 0–2. */
  volume: number;
  sentencePauseMs: number;
  paragraphPauseMs: number;
}

export interface SettingsSlice {
  settings: StudioSettings | null;
  providers: ProvidersInfo | null;
  tuning: Tuning;
  /** Shown while set: a GPU provider fell back to CPU. */
  providerNotice: string | null;
  /** This machine's calibration, as the service last reported it (null until loaded). */
  calibration: CalibrationInfo | null;
}

export interface SweepSlice {
  sweepJobId: string | null;
  sweepStatus: JobStatus;
  sweepProgress: { done: number; total: number; label: string } | null;
  sweepPoints: SweepPoint[];
  sweepResult: SweepResult | null;
  sweepError: string | null;
  /** The text the last sweep ran on, so its ar baseline can give a measured speedup for that text. */
  sweepText: string | null;
}

/** What the Compare view will run: the boxes the user ticked, repeats and temperature. */
export interface CompareChoice {
  /** Drafting strategies (ar is always run, as the baseline). */
  strategies: Strategy[];
  gammas: number[];
  repeats: number;
  temperature: number;
}

export interface CompareSlice {
  /** The strategies the open voice runs, from the service; null until asked. */
  compareAvailable: StrategyInfo[] | null;
  /** Null until the available strategies are known (then: every one, at every gamma). */
  compareChoice: CompareChoice | null;
  compareJobId: string | null;
  compareStatus: JobStatus;
  compareProgress: { done: number; total: number; label: string } | null;
  /** The cells measured so far (from progress events), then the final ones. */
  compareResult: CompareResult | null;
  compareError: string | null;
  /** What the last export of the results did. */
  compareExportMessage: { kind: 'error' | 'info'; text: string } | null;
}

export interface ExportSlice {
  exportId: string | null;
  exportStatus: 'idle' | 'running' | 'done' | 'error' | 'canceled';
  exportFraction: number;
  exportMessage: string | null;
}

export interface Notice {
  id: number;
  /** info toasts go after a few seconds; warnings and errors stay until dismissed. */
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface NoticeSlice {
  notices: Notice[];
  /** The service cannot be reached at all (no preload, no server). */
  connection: 'connecting' | 'ready' | 'lost';
}

export interface LexiconSlice {
  /** The user's pronunciations, sorted by word; null until loaded. */
  lexicon: LexiconEntryView[] | null;
  /** Why the lexicon file was (partly) ignored, from the service. */
  lexiconNotice: string | null;
  /** Why the last add, remove or hearing failed, in words. */
  lexiconError: string | null;
  /** The word being read aloud to be heard, while it is. */
  hearing: string | null;
}

export type StudioState = DocumentSlice & DecodingSlice & PlaybackSlice & SettingsSlice & SweepSlice & CompareSlice & ExportSlice & NoticeSlice & LexiconSlice;

/** Steps kept per sentence for the acceptance view (older ones are summarised in its stats). */
export const STEPS_KEPT = 40;

export const initialDocument: DocumentSlice = { text: '', fileName: null, sentences: [], fileMessage: null };
export const initialDecoding: DecodingSlice = {
  jobId: null,
  status: 'idle',
  jobText: '',
  jobSentences: [],
  strategy: 'eagle',
  gamma: 3,
  totals: EMPTY_STATS,
  perSentence: {},
  pinned: null,
  active: null,
  summary: null,
  error: null,
  words: {},
};
export const initialPlayback: PlaybackSlice = { audio: {}, playing: false, mode: null, heard: null, position: 0, waiting: false };
export const initialSettings: SettingsSlice = {
  settings: null,
  providers: null,
  tuning: {
    strategy: 'eagle',
    gamma: 3,
    adaptive: false,
    drafts: 1,
    tree: 'chain',
    temperature: 0,
    topK: null,
    topP: null,
    rate: 1,
    pitch: 0,
    volume: 1,
    sentencePauseMs: 300,
    paragraphPauseMs: 600,
  },
  providerNotice: null,
  calibration: null,
};
export const initialSweep: SweepSlice = {
  sweepJobId: null,
  sweepStatus: 'idle',
  sweepProgress: null,
  sweepPoints: [],
  sweepResult: null,
  sweepError: null,
  sweepText: null,
};
export const initialCompare: CompareSlice = {
  compareAvailable: null,
  compareChoice: null,
  compareJobId: null,
  compareStatus: 'idle',
  compareProgress: null,
  compareResult: null,
  compareError: null,
  compareExportMessage: null,
};
export const initialExport: ExportSlice = { exportId: null, exportStatus: 'idle', exportFraction: 0, exportMessage: null };
export const initialNotices: NoticeSlice = { notices: [], connection: 'connecting' };
export const initialLexicon: LexiconSlice = { lexicon: null, lexiconNotice: null, lexiconError: null, hearing: null };

export function initialState(): StudioState {
  return {
    ...initialDocument,
    ...initialDecoding,
    ...initialPlayback,
    ...initialSettings,
    ...initialSweep,
    ...initialCompare,
    ...initialExport,
    ...initialNotices,
    ...initialLexicon,
  };
}

export const useStudio = create<StudioState>()(() => initialState());
