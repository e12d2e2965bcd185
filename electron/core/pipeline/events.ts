/**
 * What a synthesis job reports while it runs. The CLI, the Electron service and the browser-mode
 * bridge all consume these same events (plain data: structured-clone and JSON safe, except `samples`,
 * which is a Float32Array the transports carry as binary).
 */
import type { Strategy } from '../engine/decode.ts';
import type { DecodeSummary, StepEvent } from '../engine/stats.ts';
import type { TreeSpec } from '../engine/tree.ts';
import type { WordTiming } from './word-timing.ts';

export type { WordTiming };

/** One sentence of the document, with its span in the original text (the UI highlights it). */
export interface SentenceSpan {
  index: number;
  text: string;
  /** Character offsets [start, end) into the document as given. */
  start: number;
  end: number;
}

export interface SynthesisSettings {
  /** Default: the fastest lossless strategy of the voice (its manifest says which). */
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
  /** 'medusa': verify a tree of the heads' candidates instead of a chain (DecodeOptions.tree); gamma is then its depth. */
  tree?: TreeSpec;
  /** 0 = greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  /** Sentences decoded together as one batch (rows advance at their own rates). */
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

export type PipelineEvent =
  /** Something the English reader will read badly or skip (another language, script, dropped characters); one line each, before decoding. */
  | { type: 'warning'; message: string }
  | { type: 'sentences'; sentences: SentenceSpan[] }
  /** One verification step of one sentence: the engine's StepEvent, its row named by sentence. */
  | ({ type: 'step'; sentence: number } & Pick<StepEvent, 'step' | 'drafted' | 'accepted' | 'token' | 'bonus' | 'emitted' | 'draftMs' | 'verifyMs'>)
  /** A sentence's semantic units are final. */
  | { type: 'units'; sentence: number; units: number[]; steps: number; drafted: number; accepted: number; check?: ReadingCheckResult }
  /** A sentence's audio (mono float PCM in [-1, 1] at `sampleRate`, the speaker's); `offsetSamples` is its place in the document's audio. */
  | { type: 'audio'; sentence: number; samples: Float32Array; sampleRate: number; offsetSamples: number }
  /** A sentence's written words and when each is heard (seconds into the document's audio); after its audio. */
  | { type: 'words'; sentence: number; words: WordTiming[] }
  | { type: 'done'; summary: SynthesisSummary };

export interface SynthesisSummary {
  strategy: Strategy;
  gamma: number | 'auto';
  sentences: number;
  decode: DecodeSummary;
  /** Decoding wall time, all batches. */
  decodeSeconds: number;
  /** Whole job wall time. */
  seconds: number;
  audioSeconds: number;
  /** seconds / audioSeconds. */
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
