/**
 * Compile-time proof that the wire types restated in electron/ipc-contract.ts (which imports nothing,
 * so the renderer's project can read it) are the pipeline's and the engine's own types. A change on
 * either side fails `npm run typecheck` here. Nothing in this file runs.
 */
import type * as Contract from '../ipc-contract.ts';
import type * as Events from '../core/pipeline/events.ts';
import type { Strategy } from '../core/engine/decode.ts';
import type { DecodeSummary } from '../core/engine/stats.ts';
import type { AdaptiveChoice } from '../core/calibration/adaptive.ts';
import type { Provider, ProviderReport } from '../core/engine/model.ts';
import type { AudioFormat } from '../core/audio/write.ts';
import type { FLAC_RATIO, WAV_MAX_DATA_BYTES } from '../core/audio/formats.ts';
import type { MP3_KBPS, OPUS_KBPS } from '../core/audio/encoders.ts';
import type { SPEECH_ESTIMATE } from '../core/pipeline/estimate.ts';
import type { ImportedDocument } from '../core/import/index.ts';
import type { LEXICON_LIMITS } from '../core/text/user-lexicon.ts';
import type { BenchCell } from '../core/eval/bench.ts';

/** True only when A and B are mutually assignable. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type ContractConformance = [
  Assert<Same<Contract.Strategy, Strategy>>,
  Assert<Same<Contract.Provider, Provider>>,
  Assert<Same<Contract.AudioFormat, AudioFormat>>,
  Assert<Same<Contract.ProviderReport, ProviderReport>>,
  Assert<Same<Contract.CalibrationAdaptive, AdaptiveChoice>>,
  Assert<Same<Contract.DecodeSummary, DecodeSummary>>,
  Assert<Same<Contract.SentenceSpan, Events.SentenceSpan>>,
  Assert<Same<Contract.SynthesisSettings, Events.SynthesisSettings>>,
  Assert<Same<Contract.SynthesisSummary, Events.SynthesisSummary>>,
  Assert<Same<Contract.PipelineEvent, Events.PipelineEvent>>,
  Assert<Same<Contract.ReadingCheckResult, Events.ReadingCheckResult>>,
  Assert<Same<Contract.WordTiming, Events.WordTiming>>,
  Assert<Same<Contract.ImportedDocument, ImportedDocument>>,
  Assert<Same<Contract.CompareCell, BenchCell>>,
  Assert<Same<typeof Contract.SPEECH_ESTIMATE, typeof SPEECH_ESTIMATE>>,
  Assert<Same<(typeof Contract.EXPORT_ESTIMATE)['flacRatio'], typeof FLAC_RATIO>>,
  Assert<Same<(typeof Contract.EXPORT_ESTIMATE)['mp3Kbps'], typeof MP3_KBPS>>,
  Assert<Same<(typeof Contract.EXPORT_ESTIMATE)['opusKbps'], typeof OPUS_KBPS>>,
  Assert<Same<(typeof Contract.EXPORT_ESTIMATE)['wavMaxDataBytes'], typeof WAV_MAX_DATA_BYTES>>,
  Assert<Same<(typeof Contract.LIMITS)['lexiconWordChars'], (typeof LEXICON_LIMITS)['wordChars']>>,
  Assert<Same<(typeof Contract.LIMITS)['lexiconPronunciationChars'], (typeof LEXICON_LIMITS)['pronunciationChars']>>,
];
