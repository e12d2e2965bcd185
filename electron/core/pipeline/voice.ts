/**
 * A voice: the text→units decoder (the engine's model directory) and the units→audio speaker
 * (`speaker/` inside it), plus the settings its manifest recommends.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ModelLoadError } from '../errors.ts';
import type { Manifest } from '../engine/manifest.ts';
import { loadModel, type LoadedModel, type LoadOptions, type ProviderReport } from '../engine/model.ts';
import { STRATEGIES, STRATEGY_GRAPHS, type Strategy } from '../engine/decode.ts';
import { DecoderPool } from '../engine/pool.ts';
import type { UnitGroups } from '../engine/verify.ts';
import { PHONEME_INVENTORY } from '../text/index.ts';
import type { ReadingCheck } from './reading-check.ts';

/** What the pipeline needs of the speaking stage (electron/core/pipeline/speaker.ts implements it). */
export interface SpeakerLike {
  readonly sampleRate: number;
  /** Units per second of audio. */
  readonly unitRate: number;
  readonly unitCount: number;
  /** The teacher's units (the unit extractor's codebook ids) → this speaker's units (speaker.ts). */
  fromCodebook(units: readonly number[]): number[];
  /**
   * 0-based unit ids → samples in [-1, 1]; `rate` speaks faster (2) or slower (0.5) with the pitch
   * kept, `pitchSemitones` shifts the pitch with the formants kept.
   */
  speak(units: readonly number[], options?: { rate?: number; pitchSemitones?: number }): Promise<Float32Array>;
  release(): Promise<void>;
}

/** The `voice` section of the decoder manifest (written by native-models/spear_voice/train_t2s/export_voice.py). */
export interface VoiceSection {
  /** Units a sentence may have at most: ceil(per_phoneme × phonemes + base). */
  max_units: { per_phoneme: number; base: number };
  unit_rate?: number;
  default_strategy?: Strategy;
  default_gamma?: number;
  default_temperature?: number;
  /** Sampled readings tried for a sentence whose reading fails the check (0: none); default 3. */
  rereadings?: number;
  /** Temperature of those readings; default 0.5. */
  rereading_temperature?: number;
  /** Lossy acceptance's unit groups (native-models/spear_voice/units/groups.py): `labels[u]` is unit u's group. */
  unit_groups?: { k: number; labels: number[] };
}

export interface Voice {
  dir: string;
  decoder: LoadedModel;
  speaker: SpeakerLike;
  /** The reading check (`checker/` inside the voice), or null for a voice without one. */
  checker: (Pick<ReadingCheck, 'score' | 'needsRereading' | 'release'> & Partial<Pick<ReadingCheck, 'align'>>) | null;
  section: VoiceSection;
  provider: ProviderReport;
  /**
   * Worker threads that decode a document's sentences on every core (engine/pool.ts), or null/absent:
   * everything decodes in this thread. Several sentences go to it once its workers have opened the model.
   */
  pool?: DecoderPool | null;
  /** Decoder prompt for a sentence's phoneme ids: [bos, phonemes…, sep]. */
  prompt(phonemeIds: readonly number[]): number[];
  /** The stop rule's cap for a sentence of this many phonemes. */
  maxUnits(phonemeCount: number): number;
  /** Most phonemes a sentence may have so that its prompt and its units fit the decoder's context. */
  maxPhonemes: number;
  /** Decoder tokens → 0-based unit ids (anything outside the unit range is dropped). */
  units(tokens: readonly number[]): number[];
  /** The decoder's tokens in the voice's unit groups (each other token its own group), for lossy acceptance; null without groups. */
  acceptGroups: UnitGroups | null;
  release(): Promise<void>;
}

/** How the voice turns a sentence's phonemes into a decoder prompt, and when it stops reading. */
export type ReadingRules = Pick<Voice, 'prompt' | 'maxPhonemes' | 'maxUnits'>;

/**
 * The prompt and stop rule of a decoder manifest with a phoneme range and a `voice.max_units` section
 * (pure: the calibration reads the bench texts with them without opening a speaker).
 */
export function readingRules(manifest: Pick<Manifest, 'context' | 'vocab'>, maxUnits: VoiceSection['max_units']): ReadingRules {
  const { context, vocab } = manifest;
  const phonemeOffset = vocab.phonemes!.offset;
  const { bos, sep } = vocab.special;
  return {
    prompt: (ids) => [bos, ...ids.map((id) => id + phonemeOffset), sep],
    maxPhonemes: Math.max(1, Math.floor((context - 3 - maxUnits.base) / (1 + maxUnits.per_phoneme))),
    maxUnits: (n) => Math.max(1, Math.min(Math.ceil(maxUnits.per_phoneme * n + maxUnits.base), context - n - 3)),
  };
}

export interface OpenVoiceOptions extends Pick<LoadOptions, 'provider' | 'threads' | 'targetThreads' | 'target'> {
  /**
   * Decoder workers for documents (Voice.pool): 2 or more start that many worker threads, each with the
   * decoder's sessions at one thread; default 1, none. A single sentence always decodes in this thread.
   */
  workers?: number;
  /**
   * The strategies the workers open graphs for, besides the voice's default strategy (which re-readings
   * use); default: every graph of the voice. A pool that lacks a strategy's graphs leaves its rows to this
   * thread (DecoderPool.takes).
   */
  workerStrategies?: readonly Strategy[];
  /** Loads the speaking stage from a directory; default electron/core/pipeline/speaker.ts's loadSpeaker. */
  loadSpeaker?: (dir: string, options: { threads?: number }) => Promise<SpeakerLike>;
  /**
   * Loads the reading check from a directory; default electron/core/pipeline/reading-check.ts's loadReadingCheck
   * when the voice has a `checker/checker.json`, else no check.
   */
  loadChecker?: (dir: string, options: { threads?: number }) => Promise<Voice['checker']>;
}

export async function openVoice(dir: string, options: OpenVoiceOptions = {}): Promise<Voice> {
  const decoder = await loadModel(dir, { provider: options.provider, threads: options.threads, targetThreads: options.targetThreads, target: options.target });
  const manifestPath = path.join(dir, 'manifest.json');
  const { vocab } = decoder.manifest;
  const section = (decoder.manifest as { voice?: VoiceSection }).voice;
  const problems: string[] = [];
  if (!vocab.phonemes || !vocab.units) problems.push('vocab lacks "phonemes" or "units" ranges: this decoder is not a voice');
  else if (vocab.phonemes.count !== PHONEME_INVENTORY.length) {
    problems.push(
      `vocab.phonemes.count is ${vocab.phonemes.count}, but the app's phoneme inventory has ${PHONEME_INVENTORY.length} (retrain or update the app)`,
    );
  }
  if (!section?.max_units) problems.push('"voice.max_units" (the stop rule) is missing');
  const groups = section?.unit_groups;
  if (groups !== undefined) {
    const k = groups?.k;
    const labels = groups?.labels;
    const ok = Number.isInteger(k) && k > 0 && Array.isArray(labels) && labels.every((g) => Number.isInteger(g) && g >= 0 && g < k);
    if (!ok) problems.push('"voice.unit_groups" needs an integer "k" and integer "labels" in [0, k)');
    else if (vocab.units && labels.length !== vocab.units.count) {
      problems.push(`"voice.unit_groups" labels ${labels.length} units, the decoder writes ${vocab.units.count}`);
    }
  }
  if (section?.default_strategy && !(STRATEGIES as readonly string[]).includes(section.default_strategy)) {
    problems.push(`"voice.default_strategy" ${JSON.stringify(section.default_strategy)} is not one of ${STRATEGIES.join(', ')}`);
  }
  if (problems.length > 0) {
    await decoder.release();
    throw new ModelLoadError(manifestPath, problems);
  }
  const loader = options.loadSpeaker ?? (await import('./speaker.ts')).loadSpeaker;
  let speaker: SpeakerLike;
  try {
    speaker = await loader(path.join(dir, 'speaker'), { threads: options.threads });
  } catch (error) {
    await decoder.release();
    throw error;
  }
  if (speaker.unitCount !== vocab.units!.count) {
    await Promise.all([decoder.release(), speaker.release()]);
    throw new ModelLoadError(manifestPath, [`the decoder writes ${vocab.units!.count} units, the speaker reads ${speaker.unitCount}`]);
  }
  let checker: Voice['checker'] = null;
  try {
    const checkerDir = path.join(dir, 'checker');
    if (options.loadChecker) checker = await options.loadChecker(checkerDir, { threads: options.threads });
    else if (existsSync(path.join(checkerDir, 'checker.json'))) {
      checker = await (await import('./reading-check.ts')).loadReadingCheck(checkerDir, { threads: options.threads });
    }
  } catch (error) {
    await Promise.all([decoder.release(), speaker.release()]);
    throw error;
  }
  const { offset: unitOffset, count: unitCount } = vocab.units!;
  const workers = options.workers ?? 1;
  const strategies = options.workerStrategies && [...options.workerStrategies, ...(section!.default_strategy ? [section!.default_strategy] : [])];
  const roles = strategies && [...new Set(strategies.flatMap((strategy) => STRATEGY_GRAPHS[strategy]))];
  const pool = workers >= 2 ? new DecoderPool(dir, workers, { provider: options.provider, target: options.target, roles }) : null;
  return {
    dir,
    decoder,
    speaker,
    checker,
    section: section!,
    provider: decoder.provider,
    ...readingRules(decoder.manifest, section!.max_units),
    units: (tokens) => tokens.filter((t) => t >= unitOffset && t < unitOffset + unitCount).map((t) => t - unitOffset),
    acceptGroups: section!.unit_groups ? tokenGroups(section!.unit_groups, unitOffset, vocab.size) : null,
    pool,
    async release() {
      await Promise.all([decoder.release(), speaker.release(), checker?.release(), pool?.release()]);
    },
  };
}

/** Group ids over the whole vocabulary: units by their label, every other token a group of its own. */
export function tokenGroups(groups: { k: number; labels: readonly number[] }, unitOffset: number, vocabSize: number): UnitGroups {
  const of = new Int32Array(vocabSize);
  let next = groups.k;
  for (let t = 0; t < vocabSize; t++) {
    const u = t - unitOffset;
    of[t] = u >= 0 && u < groups.labels.length ? groups.labels[u] : next++;
  }
  return { of, count: next };
}
