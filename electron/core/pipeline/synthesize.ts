/**
 * Text in, audio out: document → sentences → phonemes → semantic units (the engine; the sentences of
 * a batch decode together, each row at its own rate) → audio per sentence → joined with pauses.
 *
 * Streaming: a sentence is spoken as soon as its row finishes, and audio events leave in document
 * order, so the first sentence plays before the last is decoded. Memory stays bounded for any input
 * length: sentences flow through `batchSize` at a time and audio is handed on, never accumulated here.
 */
import { type DecodeOptions, draftLength, type Strategy } from '../engine/decode.ts';
import { decodeRows } from '../engine/pool.ts';
import { CancelledError, DecodeOptionError, SpearError } from '../errors.ts';
import { SEED_LIMIT } from '../engine/random.ts';
import { StatsAggregator } from '../engine/stats.ts';
import { treeDepth } from '../engine/tree.ts';
import { prepareDocument, type UserLexicon } from '../text/index.ts';
import { textWarnings } from '../text/language.ts';
import { sentenceWordTimings } from './word-timing.ts';
import type { PipelineEvent, ReadingCheckResult, SentenceSpan, SynthesisSettings, SynthesisSummary } from './events.ts';
import type { Voice } from './voice.ts';

/** The text holds nothing to read aloud (empty, whitespace, or only symbols and emoji). */
export class NothingToSayError extends SpearError {
  constructor(detail: string) {
    super(`nothing to read aloud: ${detail}`);
  }
}

/** The text holds something no reader would read aloud, such as a word of thousands of letters. */
export class UnreadableTextError extends SpearError {}

/** Longest run of non-space characters read aloud (long URLs fit; a pasted blob does not). */
export const MAX_WORD_CHARS = 200;

/** Throws NothingToSayError or UnreadableTextError for text the pipeline should not read. */
export function checkText(text: string): void {
  if (text.trim() === '') throw new NothingToSayError('the text is empty');
  if (!/[\p{L}\p{N}]/u.test(text)) throw new NothingToSayError('the text has no words, only symbols or emoji');
  const long = new RegExp(`\\S{${MAX_WORD_CHARS + 1},}`).exec(text);
  if (long) {
    throw new UnreadableTextError(
      `a ${long[0].length}-character word at character ${long.index} ("${long[0].slice(0, 12)}…"); words longer than ${MAX_WORD_CHARS} characters are not read aloud`,
    );
  }
}

export interface SynthesisHooks {
  onEvent?: (event: PipelineEvent) => void;
  signal?: AbortSignal;
  /**
   * Default true: a sentence is spoken as soon as its row finishes, while the rest decode. false:
   * each batch is spoken after it is decoded, so decoding is timed alone (`spear bench`: on 2 cores
   * the speaker running beside the decoder slowed it by 16 % for ar and 25 % for eagle γ 3, which
   * understates every speedup).
   */
  speakWhileDecoding?: boolean;
  /**
   * Default true: the first sentence decodes alone, so its audio starts after one sentence's decode,
   * not a whole batch's, at the same units/s (tests/bench/studio-first-audio.mts measures the first
   * audio); the rest go `batchSize` at a time. `spear bench --batch` turns it off
   * to measure one batch as asked.
   */
  firstSentenceAlone?: boolean;
  /**
   * Sampled re-readings of a sentence whose reading fails the voice's reading check (reading-check.ts);
   * the best-scoring reading is spoken. Default: the voice's `rereadings` (3); 0 turns re-reading off.
   * No effect for a voice without a checker.
   */
  rereadings?: number;
  /**
   * Default true: after each sentence's audio, a 'words' event with its written words' times (from the
   * reading check's alignment where the voice has one: one more run of the check's network per
   * sentence; word-timing.ts). `spear bench` and the sweep turn it off.
   */
  wordTimings?: boolean;
  /**
   * The user's pronunciations (electron/core/text/user-lexicon.ts compileLexicon), used to read the
   * text and to time its words. Default none. The shell loads it (lexicon-file.ts); the core reads no file.
   */
  lexicon?: UserLexicon;
}

/** Silence after a sentence, and after a paragraph (a blank line in the source). */
export const PAUSE_SECONDS = { sentence: 0.3, paragraph: 0.6 } as const;

export const DEFAULT_BATCH_SIZE = 8;

/**
 * Sentences decoded together unless the settings say. With decoder workers (Voice.pool),
 * DEFAULT_BATCH_SIZE per worker: a batch is what the workers share out. Without, DEFAULT_BATCH_SIZE, or 1
 * when the voice's target is called one row at a time (its manifest entry's rows_per_call: the int8
 * target), where a batch in one thread buys nothing and its rows share one cache stride
 * (docs/engine.md#the-int8-target).
 */
export function defaultBatchSize(voice: Voice): number {
  if (voice.pool) return DEFAULT_BATCH_SIZE * voice.pool.size;
  return voice.decoder.graphs.full?.entry.rows_per_call === 1 ? 1 : DEFAULT_BATCH_SIZE;
}
/**
 * Re-readings of a sentence that fails the reading check, and their temperature, unless the voice says
 * otherwise. The temperature was chosen on the 232 validation sentences (greedy reading + 3 sampled,
 * the check's choice, pocketsphinx WER): greedy alone 35.9 %, re-read at 0.3 / 0.5 / 0.8: 32.9 / 31.9 /
 * 33.6 % (docs/results.md#the-reading-check).
 */
export const DEFAULT_REREADINGS = 3;
export const DEFAULT_REREADING_TEMPERATURE = 0.5;
/** Seeds of re-readings live far from the sentence seeds (seed + sentence index) of first readings. */
export const REREADING_SEED_STRIDE = 1_000_003;

/**
 * A row's seed derived from the job's (plus the sentence index, plus a re-reading's stride), taken
 * modulo 2^32 on purpose: the engine refuses seeds outside [0, 2^32) rather than wrapping them.
 */
const derivedSeed = (seed: number, offset: number): number => (seed + offset) % SEED_LIMIT;

/** Re-readings a failed sentence gets: the caller's, else the voice's, else DEFAULT_REREADINGS. */
export function resolveRereadings(voice: Voice, rereadings: number | undefined): number {
  return rereadings ?? voice.section.rereadings ?? DEFAULT_REREADINGS;
}

/** Ranges of the delivery settings (rate, pitch, volume, pauses); the CLI and the studio show the same. */
export const DELIVERY_LIMITS = {
  rate: { min: 0.5, max: 2 },
  pitch: { min: -6, max: 6 },
  volume: { min: 0, max: 2 },
  pauseMs: { min: 0, max: 5000 },
} as const;

export function resolveSettings(voice: Voice, settings: Partial<SynthesisSettings>): SynthesisSettings {
  const resolved: SynthesisSettings = {
    strategy: settings.strategy ?? voice.section.default_strategy ?? 'early-exit',
    // A tree's depth is its draft length (DecodeOptions.tree).
    gamma: settings.tree ? treeDepth(settings.tree) : (settings.gamma ?? voice.section.default_gamma ?? 4),
    ...(settings.gamma === 'auto' ? { maxGamma: settings.maxGamma, draftConfidence: settings.draftConfidence } : {}),
    ...(settings.acceptance === 'groups' ? { acceptance: 'groups' as const } : {}),
    ...(settings.drafts !== undefined ? { drafts: settings.drafts } : {}),
    ...(settings.tree ? { tree: settings.tree } : {}),
    temperature: settings.temperature ?? voice.section.default_temperature ?? 0,
    topK: settings.topK,
    topP: settings.topP,
    seed: settings.seed ?? 0,
    batchSize: settings.batchSize ?? defaultBatchSize(voice),
    rate: settings.rate ?? 1,
    pitch: settings.pitch ?? 0,
    volume: settings.volume ?? 1,
    sentencePauseMs: settings.sentencePauseMs ?? PAUSE_SECONDS.sentence * 1000,
    paragraphPauseMs: settings.paragraphPauseMs ?? PAUSE_SECONDS.paragraph * 1000,
  };
  const inRange = (name: string, value: number, { min, max }: { min: number; max: number }, unit = ''): void => {
    if (!(Number.isFinite(value) && value >= min && value <= max)) throw new DecodeOptionError(name, value, `a number from ${min}${unit} to ${max}${unit}`);
  };
  inRange('rate', resolved.rate!, DELIVERY_LIMITS.rate);
  inRange('pitch', resolved.pitch!, DELIVERY_LIMITS.pitch, ' semitones');
  inRange('volume', resolved.volume!, DELIVERY_LIMITS.volume);
  inRange('sentencePauseMs', resolved.sentencePauseMs!, DELIVERY_LIMITS.pauseMs, ' ms');
  inRange('paragraphPauseMs', resolved.paragraphPauseMs!, DELIVERY_LIMITS.pauseMs, ' ms');
  if (settings.acceptance !== undefined && settings.acceptance !== 'exact' && settings.acceptance !== 'groups') {
    throw new DecodeOptionError('acceptance', settings.acceptance, "'exact' or 'groups'");
  }
  if (resolved.acceptance === 'groups' && !voice.acceptGroups) {
    throw new DecodeOptionError('acceptance', 'groups', `a voice with unit groups (${voice.dir} has none: python3 -m spear_voice.units.groups)`);
  }
  return resolved;
}

/** Scores are nats per phone; a reading with no units at all scores Infinity, which JSON cannot carry. */
const finite = (score: number): number => Math.min(score, 1e6);

interface Prepared extends SentenceSpan {
  phonemes: number[];
  /** Pause after this sentence, in samples. */
  pauseSamples: number;
}

function prepare(text: string, voice: Voice, settings: SynthesisSettings, lexicon: UserLexicon | undefined): Prepared[] {
  const sentences = prepareDocument(text, { maxPhonemes: voice.maxPhonemes, lexicon });
  return sentences.map((s, index) => {
    const next = sentences[index + 1];
    const gap = next ? text.slice(s.end, next.start) : '';
    const pause = (/\n\s*\n/.test(gap) ? settings.paragraphPauseMs! : settings.sentencePauseMs!) / 1000;
    return {
      index,
      text: s.text,
      start: s.start,
      end: s.end,
      // A single unsplittable token (a 60-digit number) can still exceed the budget: read its start.
      phonemes: s.phonemeIds.slice(0, voice.maxPhonemes),
      pauseSamples: next ? Math.round(pause * voice.speaker.sampleRate) : 0,
    };
  });
}

export async function synthesize(voice: Voice, text: string, partial: Partial<SynthesisSettings> = {}, hooks: SynthesisHooks = {}): Promise<SynthesisSummary> {
  const started = performance.now();
  const settings = resolveSettings(voice, partial);
  const { signal } = hooks;
  const overlap = hooks.speakWhileDecoding ?? true;
  const firstAlone = (hooks.firstSentenceAlone ?? true) && settings.batchSize > 1;
  const emit = (event: PipelineEvent): void => hooks.onEvent?.(event);
  const checker = voice.checker;
  const rereadings = checker ? resolveRereadings(voice, hooks.rereadings) : 0;
  if (!(Number.isInteger(rereadings) && rereadings >= 0)) throw new RangeError(`rereadings must be an integer ≥ 0, got ${rereadings}`);
  checkText(text);
  const sentences = prepare(text, voice, settings, hooks.lexicon);
  const spoken = sentences.filter((s) => s.phonemes.length > 0);
  if (spoken.length === 0) {
    // Letters, but none the English reader has phonemes for: say so, rather than "no words".
    const otherScript = /\p{L}/u.test(text) && !/[a-z]/i.test(text.normalize('NFKD'));
    throw new NothingToSayError(
      otherScript
        ? 'the voice reads English, and the text has no Latin letters (it is written in another script)'
        : 'the text has no words, only symbols or emoji',
    );
  }
  for (const message of textWarnings(text)) emit({ type: 'warning', message });
  if (voice.pool?.problem) emit({ type: 'warning', message: `the sentences decode in one thread: ${voice.pool.problem}` });
  emit({ type: 'sentences', sentences: sentences.map(({ index, text: t, start, end }) => ({ index, text: t, start, end })) });

  // How each sentence's first reading drafts; the statistics report its draft length as decode() counts it.
  const drafting: DecodeOptions = {
    strategy: settings.strategy,
    ...(settings.tree ? { tree: settings.tree } : { gamma: settings.gamma }),
    ...(settings.gamma === 'auto' ? { maxGamma: settings.maxGamma, draftConfidence: settings.draftConfidence } : {}),
  };
  const stats = new StatsAggregator(draftLength(voice.decoder, drafting));
  // Rate 1 and pitch 0 pass no options, so a speaker that takes none is called as before.
  const delivery = settings.rate !== 1 || settings.pitch !== 0 ? { rate: settings.rate, pitchSemitones: settings.pitch } : undefined;
  const volume = settings.volume!;
  const wordTimings = hooks.wordTimings ?? true;
  let decodeMs = 0;
  let offsetSamples = 0;
  let audioSamples = 0;
  let firstAudioMs = -1;
  let rereadSentences = 0;
  // Speaking runs behind decoding, one sentence at a time, in document order: a row that finishes
  // early waits in `ready` until every sentence before it has been handed to the speaker.
  let speaking: Promise<void> = Promise.resolve();
  const ready = new Map<number, number[]>();
  let nextToSpeak = 0;
  const speakInOrder = (): void => {
    while (nextToSpeak < spoken.length && ready.has(nextToSpeak)) {
      const sentence = spoken[nextToSpeak];
      const units = ready.get(nextToSpeak)!;
      ready.delete(nextToSpeak);
      nextToSpeak++;
      speaking = speaking.then(async () => {
        if (signal?.aborted) return;
        const samples = units.length > 0 ? await voice.speaker.speak(units, delivery) : new Float32Array(0);
        if (volume !== 1) for (let i = 0; i < samples.length; i++) samples[i] = Math.max(-1, Math.min(1, samples[i] * volume));
        if (signal?.aborted) return;
        if (firstAudioMs < 0) firstAudioMs = performance.now() - started;
        emit({ type: 'audio', sentence: sentence.index, samples, sampleRate: voice.speaker.sampleRate, offsetSamples });
        if (wordTimings) {
          const rate = voice.speaker.sampleRate;
          const alignment = checker?.align && units.length > 0 ? await checker.align(units, sentence.phonemes) : null;
          const words = sentenceWordTimings({
            text: sentence.text,
            start: sentence.start,
            phonemeIds: sentence.phonemes,
            unitCount: units.length,
            alignment,
            offsetSeconds: offsetSamples / rate,
            durationSeconds: samples.length / rate,
            lexicon: hooks.lexicon,
          });
          if (!signal?.aborted) emit({ type: 'words', sentence: sentence.index, words });
        }
        offsetSamples += samples.length + sentence.pauseSamples;
        audioSamples += samples.length + sentence.pauseSamples;
      });
    }
  };

  try {
    // The first sentence alone (unless told otherwise), then batchSize at a time.
    const batchSizeAt = (b: number): number => (firstAlone && b === 0 ? 1 : settings.batchSize);
    for (let b = 0; b < spoken.length; b += batchSizeAt(b)) {
      if (signal?.aborted) throw new CancelledError('synthesis');
      const batch = spoken.slice(b, b + batchSizeAt(b));
      const tokens: number[][] = batch.map(() => []);
      const perRow = batch.map(() => ({ steps: 0, drafted: 0, accepted: 0 }));
      // A finished row's units are final once the check passes them (at once without a checker).
      const settle = (row: number, units: number[], check?: ReadingCheckResult): void => {
        emit({ type: 'units', sentence: batch[row].index, units, ...perRow[row], ...(check ? { check } : {}) });
        ready.set(b + row, units);
        if (overlap) speakInOrder();
      };
      const checks: Promise<void>[] = [];
      const failed: { row: number; units: number[]; score: number }[] = [];
      const result = await decodeRows(
        voice.decoder,
        voice.pool ?? null,
        batch.map((s) => voice.prompt(s.phonemes)),
        {
          ...drafting,
          ...(settings.acceptance === 'groups' ? { acceptGroups: voice.acceptGroups! } : {}),
          ...(settings.drafts !== undefined ? { drafts: settings.drafts } : {}),
          temperature: settings.temperature,
          topK: settings.topK,
          topP: settings.topP,
          // One seed per sentence: sampling gives the same audio whatever the batch size.
          seeds: batch.map((s) => derivedSeed(settings.seed, s.index)),
          maxNewTokens: batch.map((s) => voice.maxUnits(s.phonemes.length)),
          signal,
          onEvent: (event) => {
            stats.add(event);
            if (event.type !== 'step') return;
            const sentence = batch[event.row];
            const emitted = [...event.drafted.slice(0, event.accepted), event.token].slice(0, event.emitted);
            tokens[event.row].push(...emitted);
            Object.assign(perRow[event.row], {
              steps: perRow[event.row].steps + 1,
              drafted: perRow[event.row].drafted + event.drafted.length,
              accepted: perRow[event.row].accepted + event.accepted,
            });
            emit({
              type: 'step',
              sentence: sentence.index,
              step: event.step,
              drafted: event.drafted,
              accepted: event.accepted,
              token: event.token,
              bonus: event.bonus,
              emitted: event.emitted,
              draftMs: event.draftMs,
              verifyMs: event.verifyMs,
            });
            if (event.finished) {
              const row = event.row;
              const units = voice.units(tokens[row]);
              if (!checker || rereadings === 0) settle(row, units);
              else {
                checks.push(
                  checker.score(units, sentence.phonemes).then((score) => {
                    if (checker.needsRereading(score)) failed.push({ row, units, score });
                    else settle(row, units, { score: finite(score), rereadings: 0, chosen: 0, chosenScore: finite(score) });
                  }),
                );
              }
            }
          },
        },
      );
      decodeMs += result.ms;
      await Promise.all(checks);
      if (failed.length > 0) {
        // Every failed sentence of the batch is read again `rereadings` times, all in one batch.
        failed.sort((x, y) => x.row - y.row);
        rereadSentences += failed.length;
        const rows = failed.flatMap((f) => Array.from({ length: rereadings }, (_, k) => ({ f, k })));
        const again = await decodeRows(
          voice.decoder,
          voice.pool ?? null,
          rows.map(({ f }) => voice.prompt(batch[f.row].phonemes)),
          {
            // The voice's own strategy and γ, whatever the first reading used: sampled readings depend on how a
            // strategy draws its randomness, and the units must not depend on the strategy (greedy exactness).
            strategy: voice.section.default_strategy ?? settings.strategy,
            gamma: voice.section.default_gamma ?? (settings.gamma === 'auto' ? 4 : settings.gamma),
            temperature: voice.section.rereading_temperature ?? DEFAULT_REREADING_TEMPERATURE,
            seeds: rows.map(({ f, k }) => derivedSeed(settings.seed, batch[f.row].index + REREADING_SEED_STRIDE * (k + 1))),
            maxNewTokens: rows.map(({ f }) => voice.maxUnits(batch[f.row].phonemes.length)),
            signal,
            onEvent: (event) => stats.add(event),
          },
        );
        decodeMs += again.ms;
        for (const [i, f] of failed.entries()) {
          let chosen = 0;
          let best = f.units;
          let bestScore = f.score;
          for (let k = 0; k < rereadings; k++) {
            const units = voice.units(again.rows[i * rereadings + k].tokens); // rows: failed sentence i's k-th re-reading
            const score = await checker!.score(units, batch[f.row].phonemes);
            if (score < bestScore) [chosen, best, bestScore] = [k + 1, units, score];
          }
          settle(f.row, best, { score: finite(f.score), rereadings, chosen, chosenScore: finite(bestScore) });
        }
      }
      if (!overlap) {
        speakInOrder();
        await speaking;
      }
    }
    await speaking;
  } catch (error) {
    await speaking.catch(() => undefined);
    throw error;
  }
  if (signal?.aborted) throw new CancelledError('synthesis');

  const seconds = (performance.now() - started) / 1000;
  const audioSeconds = audioSamples / voice.speaker.sampleRate;
  const decodeSummary = stats.summary();
  const summary: SynthesisSummary = {
    strategy: settings.strategy as Strategy,
    gamma: settings.gamma,
    sentences: spoken.length,
    decode: decodeSummary,
    decodeSeconds: decodeMs / 1000,
    seconds,
    audioSeconds,
    rtf: audioSeconds > 0 ? seconds / audioSeconds : 0,
    tokensPerSecond: decodeSummary.tokens / (decodeMs / 1000),
    timeToFirstAudioMs: firstAudioMs,
    rereadSentences,
  };
  emit({ type: 'done', summary });
  return summary;
}
