/**
 * A fake synthesis backend for tests that must run without the trained voice: it emits the pipeline's
 * real event sequence (sentences; many verification steps with drafted/accepted tokens; units; a
 * short tone per sentence as audio; done with a DecodeSummary from the engine's own aggregator), and
 * writes files with the real writer (electron/core/audio/write.ts). Acceptance is drawn per drafted token with a per-strategy α; the time a step
 * "costs" is simulated (verify ≈ 3 ms, a draft token ≈ c × that) and partly slept, so tokens/s
 * responds to gamma the way Theorem 3.8 says and the UI sees events arrive over time.
 *
 * Used by tests/e2e (through `createBackend`, the module shape electron/service/host.ts loads) and by
 * the service tests directly.
 */
import { AudioFileWriter, writeAudioFile } from '../../electron/core/audio/write.ts';
import { StatsAggregator } from '../../electron/core/engine/stats.ts';
import type { PipelineEvent, SynthesisSettings, SynthesisSummary } from '../../electron/core/pipeline/events.ts';
import type { Provider, ProviderReport } from '../../electron/core/engine/model.ts';
import type { SynthesisBackend, SynthesizeHooks, VoiceLike } from '../../electron/service/backend.ts';
import { phonemeIds, splitSentences } from '../../electron/core/text/index.ts';
import { sentenceWordTimings } from '../../electron/core/pipeline/word-timing.ts';

export interface FakeOptions {
  /** Real milliseconds slept per simulated millisecond. Default 1 (env SPEAR_FAKE_SPEED overrides); 0 runs flat out. */
  speed?: number;
  /** Providers the fake claims; 'webgpu' "fails to start" and falls back to CPU. Default cpu, webgpu. */
  providers?: Provider[];
  sampleRate?: number;
}

const ALPHA: Record<Exclude<SynthesisSettings['strategy'], 'ar'>, number> = {
  'early-exit': 0.72,
  draft: 0.78,
  eagle: 0.82,
  'layer-skip': 0.7,
  medusa: 0.6,
  prophet: 0.55,
};
/** c: one draft token's cost over one verification. */
const COST: Record<Exclude<SynthesisSettings['strategy'], 'ar'>, number> = {
  'early-exit': 0.25,
  draft: 0.12,
  eagle: 0.08,
  'layer-skip': 0.5,
  medusa: 0.03,
  prophet: 0.05,
};
const VERIFY_MS = 3;
const UNIT_OFFSET = 84;
const UNIT_COUNT = 512;

interface FakeVoice extends VoiceLike {
  released: boolean;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => (clearTimeout(timer), reject(signal!.reason));
    const timer = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A tone with a soft attack and release; each sentence gets its own pitch. */
export function tone(seconds: number, sampleRate: number, frequency: number): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  const ramp = Math.min(n / 2, sampleRate * 0.02);
  for (let i = 0; i < n; i++) {
    const envelope = Math.min(1, i / ramp, (n - 1 - i) / ramp);
    out[i] = 0.4 * envelope * Math.sin((2 * Math.PI * frequency * i) / sampleRate);
  }
  return out;
}

export function createFakeBackend(options: FakeOptions = {}): SynthesisBackend<FakeVoice> & { opened: FakeVoice[] } {
  const speed = options.speed ?? Number(process.env.SPEAR_FAKE_SPEED ?? 1);
  const providers = options.providers ?? ['cpu', 'webgpu'];
  const sampleRate = options.sampleRate ?? 16_000;
  const opened: FakeVoice[] = [];

  async function synthesize(voice: FakeVoice, text: string, settings: Partial<SynthesisSettings>, hooks: SynthesizeHooks): Promise<SynthesisSummary> {
    if (voice.released) throw new Error('fake voice: used after release');
    const { signal, onEvent } = hooks;
    const strategy = settings.strategy ?? 'early-exit';
    const gamma = strategy === 'ar' ? 1 : settings.gamma === 'auto' ? (settings.maxGamma ?? 8) : (settings.gamma ?? 4);
    const temperature = settings.temperature ?? 0;
    const random = mulberry32((settings.seed ?? 0) + 1);
    const started = performance.now();
    const emit = (event: PipelineEvent): void => onEvent(event);

    const sentences = splitSentences(text).map((s, index) => ({ index, text: s.text, start: s.start, end: s.end }));
    emit({ type: 'sentences', sentences });
    const aggregator = new StatsAggregator(strategy === 'ar' ? 0 : gamma);
    let batchStep = 0;
    let simulatedMs = 0;
    let sleepDebtMs = 0;
    let offsetSamples = 0;
    let audioSeconds = 0;
    let firstAudioMs = 0;
    for (const sentence of sentences) {
      const unitCount = Math.min(160, 12 + Math.round(sentence.text.length * 0.6));
      const units: number[] = [];
      let steps = 0;
      let drafted = 0;
      let accepted = 0;
      while (units.length < unitCount) {
        if (signal?.aborted) throw signal.reason;
        const unit = (): number => UNIT_OFFSET + Math.floor(random() * UNIT_COUNT);
        let event: PipelineEvent & { type: 'step' };
        let draftMs = 0;
        if (strategy === 'ar') {
          event = {
            type: 'step',
            sentence: sentence.index,
            step: steps,
            drafted: [],
            accepted: 0,
            token: unit(),
            bonus: true,
            emitted: 1,
            draftMs: 0,
            verifyMs: VERIFY_MS,
          };
        } else {
          const alpha = ALPHA[strategy] * (1 - Math.min(0.5, temperature * 0.15));
          const proposal = Array.from({ length: gamma }, unit);
          let ok = 0;
          while (ok < gamma && random() < alpha) ok++;
          draftMs = gamma * COST[strategy] * VERIFY_MS;
          const left = unitCount - units.length;
          const emitted = Math.min(ok + 1, left);
          event = {
            type: 'step',
            sentence: sentence.index,
            step: steps,
            drafted: proposal,
            accepted: ok,
            token: unit(),
            bonus: ok === gamma,
            emitted,
            draftMs,
            verifyMs: VERIFY_MS * (1 + 0.02 * gamma),
          };
          drafted += gamma;
          accepted += ok;
        }
        const newTokens = [...event.drafted.slice(0, event.accepted), event.token].slice(0, event.emitted);
        units.push(...newTokens.map((t) => t - UNIT_OFFSET));
        aggregator.add({ ...event, row: 0, batchStep: batchStep++, batchSize: 1, ...(units.length >= unitCount ? { finished: 'stop' as const } : {}) });
        emit(event);
        steps++;
        const stepMs = event.draftMs + event.verifyMs;
        simulatedMs += stepMs;
        // Sleep in slices of ≥ 10 ms: timers are too coarse to pace 3 ms steps one by one.
        sleepDebtMs += stepMs * speed;
        if (sleepDebtMs >= 10) {
          await sleep(sleepDebtMs, signal);
          sleepDebtMs = 0;
        }
      }
      emit({ type: 'units', sentence: sentence.index, units, steps, drafted, accepted });
      // The speaking rate shortens the speech as the real speaker does (the pauses stay).
      const seconds = Math.min(1.2, 0.3 + sentence.text.length * 0.008) / (settings.rate ?? 1);
      const samples = tone(seconds, sampleRate, 220 + 55 * (sentence.index % 6));
      emit({ type: 'audio', sentence: sentence.index, samples, sampleRate, offsetSamples });
      if (hooks.wordTimings ?? true) {
        // The real rule without an alignment: the tone shared out among the words by their phones.
        const words = sentenceWordTimings({
          text: sentence.text,
          start: sentence.start,
          phonemeIds: phonemeIds(sentence.text, { lexicon: hooks.lexicon }),
          unitCount: units.length,
          alignment: null,
          offsetSeconds: offsetSamples / sampleRate,
          durationSeconds: samples.length / sampleRate,
          lexicon: hooks.lexicon,
        });
        emit({ type: 'words', sentence: sentence.index, words });
      }
      if (sentence.index === 0) firstAudioMs = performance.now() - started;
      offsetSamples += samples.length + Math.round(0.15 * sampleRate);
      audioSeconds = offsetSamples / sampleRate;
    }
    const decode = aggregator.summary();
    // The simulated decode time (the sleeps follow it, so the UI's wall-clock tokens/s agrees at speed 1):
    // deterministic, so the sweep's curve is the cost model's, not timer jitter.
    const decodeSeconds = simulatedMs / 1000;
    const seconds = (performance.now() - started) / 1000;
    const summary: SynthesisSummary = {
      strategy,
      gamma: settings.gamma === 'auto' ? 'auto' : gamma,
      sentences: sentences.length,
      decode,
      decodeSeconds,
      seconds,
      audioSeconds,
      rtf: audioSeconds > 0 ? seconds / audioSeconds : 0,
      tokensPerSecond: decodeSeconds > 0 ? decode.tokens / decodeSeconds : 0,
      timeToFirstAudioMs: firstAudioMs,
      rereadSentences: 0,
    };
    emit({ type: 'done', summary });
    return summary;
  }

  return {
    name: 'fake voice',
    voiceDir: '(fake voice)',
    opened,
    availableProviders: () => [...providers],
    async openVoice(_dir, o) {
      const requested = o.provider ?? 'cpu';
      const report: ProviderReport =
        requested === 'cpu'
          ? { requested, used: 'cpu' }
          : { requested, used: 'cpu', fallbackReason: `the ${requested} provider failed to start: fake voice has no GPU (test fallback)` };
      const voice: FakeVoice = {
        provider: report,
        released: false,
        section: { default_strategy: 'early-exit', default_gamma: 4, default_temperature: 0 },
        async release() {
          voice.released = true;
        },
      };
      opened.push(voice);
      return voice;
    },
    // ar and every strategy the fake has an α for.
    strategies: () => ['ar', ...(Object.keys(ALPHA) as Exclude<SynthesisSettings['strategy'], 'ar'>[])],
    synthesize,
    // The real, atomic writer: exports from the fake are real WAV/MP3 files.
    openAudioWriter: (file, rate, format) => AudioFileWriter.create(file, rate, format),
    writeAudioFile: (file, samples, rate, format, o) => writeAudioFile(file, samples, rate, format, o),
  };
}

/** The module shape electron/service/host.ts loads (`backendModule`). */
export function createBackend(): SynthesisBackend {
  return createFakeBackend() as unknown as SynthesisBackend;
}
