/** `spear synth`: text in, an audio file out. */
import { assertFits, estimateBytes, FORMAT_NAMES, roughBytes, roughDuration } from '../core/audio/formats.ts';
import { AudioFileWriter, assertWritable, formatOf } from '../core/audio/write.ts';
import { lookUpDefaults } from '../core/calibration/defaults.ts';
import { configDir } from '../core/calibration/store.ts';
import { STRATEGIES } from '../core/engine/decode.ts';
import { PROVIDERS } from '../core/engine/model.ts';
import { writeFileAtomic } from '../core/files.ts';
import type { PipelineEvent, SynthesisSettings } from '../core/pipeline/events.ts';
import { estimateSpeech } from '../core/pipeline/estimate.ts';
import type { WordTiming } from '../core/pipeline/events.ts';
import { formatSubtitles, subtitleFormatOf } from '../core/pipeline/subtitles.ts';
import { checkText, DELIVERY_LIMITS, synthesize } from '../core/pipeline/synthesize.ts';
import { openVoice } from '../core/pipeline/voice.ts';
import { splitSentences } from '../core/text/index.ts';
import { adaptiveArgs, checkDrafts, draftsArg, gammaArg, int, num, oneOf, parse, RENAMED_STRATEGIES, treeArg, UsageError, workersArg } from './args.ts';
import { readDocument } from './input.ts';
import { JsonProgress, ProgressBar, type ProgressReporter } from './progress.ts';
import { loadSynthLexicon } from './lexicon.ts';
import { DEFAULT_VOICE_DIR } from '../core/voice-path.ts';

/** Jobs estimated at least this long get their estimate printed before decoding starts. */
const LONG_JOB_SECONDS = 60;

export const SYNTH_HELP = `Usage: spear synth "TEXT" -o out.wav
       spear synth --file book.epub -o book.opus --subtitles book.vtt

Reads text aloud with the shipped voice and writes WAV (16-bit PCM), FLAC, Ogg Opus or MP3.
A text estimated at a minute or more gets its estimated duration and size printed first; one whose
audio cannot fit its format (a WAV file holds at most 4 GiB, ~37 h) is refused before decoding.

Options:
  -o, --output FILE        audio file to write: .wav, .flac, .opus or .ogg (Ogg Opus), .mp3;
                           written atomically
  -f, --file FILE          read the text from a file instead of the argument ("-": standard input):
                           UTF-8 text, Markdown (.md), HTML (.html: the body's text), EPUB (.epub:
                           chapters in reading order) or PDF (.pdf: its text layer); headings and
                           chapter breaks become paragraph pauses
      --strategy S         ar | early-exit | draft | eagle | layer-skip | medusa | prophet (default:
                           this machine's calibrated choice ('spear calibrate'), else the voice's
                           fastest lossless one)
      --gamma N|auto       drafted tokens per step, 1-16 (default: the calibrated one, else the voice's);
                           auto: each sentence stops drafting where the drafter is unsure
      --draft-confidence C with --gamma auto: the confidence threshold, in (0, 1) (default 0.5)
      --max-gamma N        with --gamma auto: the most drafts per step, 1-16 (default 8)
      --accept MODE        exact (default): lossless; groups: lossy, a draft in the target's unit group
                           is accepted (faster; the units are no longer the target's own)
      --tree SPEC          with --strategy medusa: verify a tree of the heads' candidates in one target
                           call instead of a chain; SPEC is the candidates per depth (2,1) or the nodes
                           as rank paths in JSON ('[[0],[1],[0,0],[0,1]]'); replaces --gamma
      --drafts K           sampling: K drafts per sentence and step, verified together by SpecTr,
                           1-8 (default 1); needs a drafting strategy and a temperature above 0
      --temperature T      0 = greedy (default: the voice's)
      --top-k K            sample only from the K most likely units
      --top-p P            nucleus sampling mass, in (0, 1]
      --seed N             random seed (default 0)
      --batch N            sentences decoded together (default 8 per worker; without workers 8, 1
                           with the int8 target)
      --workers N|auto     threads that decode a document's sentences side by side, each with its own
                           copy of the decoder at one thread (default auto: one per core, at most 4,
                           for a text of several sentences; 1 = none)
      --rate R             speaking rate, 0.5-2 (default 1); the pitch is kept
      --pitch S            pitch shift in semitones, -6 to 6 (default 0); the formants are kept
      --volume V           output gain, 0-2 (default 1; above 1 may clip loud passages)
      --sentence-pause MS  silence after a sentence, 0-5000 ms (default 300)
      --paragraph-pause MS silence after a paragraph (a blank line), 0-5000 ms (default 600)
      --rereadings N       sampled re-readings of a sentence whose reading fails the voice's
                           reading check; the best-scoring one is spoken (default 3; 0 = off)
      --provider P         cpu | webgpu | cuda (falls back to CPU and says so)
      --threads N          intra-op threads per ONNX session (default: calibrated, else 1)
      --target-threads N   intra-op threads of the verifying graphs, full and rest (default: calibrated,
                           else --threads)
      --voice DIR          voice directory (default: native-models/voice)
      --target NAME        which build of the voice's target decodes: int8 (its own) or float32
                           (the voice's manifest lists them; docs/engine.md#the-int8-target)
      --subtitles FILE     write subtitles with a cue per word: .vtt (WebVTT) or .srt (SubRip)
      --lexicon FILE       your pronunciations (default: the lexicon 'spear lexicon' edits,
                           if there is one; see 'spear lexicon --help')
      --units-out FILE     write {"sentences":[{"text","units"}]} as JSON
      --stats-out FILE     write the run's statistics as JSON
      --json               progress for scripts: one JSON object a line on stdout, each with an
                           "event": "estimate" (seconds, words, bytes, format), "warning" (message),
                           "progress" (done, total, fraction, audioSeconds, elapsedSeconds), "done"
                           (output and the run's statistics) or "error" (message); no bar, no summary
  -q, --quiet              no progress bar, no summary
  -h, --help               this help
`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  file: { type: 'string', short: 'f' },
  strategy: { type: 'string' },
  gamma: { type: 'string' },
  'draft-confidence': { type: 'string' },
  'max-gamma': { type: 'string' },
  accept: { type: 'string' },
  drafts: { type: 'string' },
  tree: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
  rereadings: { type: 'string' },
  rate: { type: 'string' },
  pitch: { type: 'string' },
  volume: { type: 'string' },
  'sentence-pause': { type: 'string' },
  'paragraph-pause': { type: 'string' },
  provider: { type: 'string' },
  threads: { type: 'string' },
  'target-threads': { type: 'string' },
  workers: { type: 'string' },
  voice: { type: 'string' },
  target: { type: 'string' },
  subtitles: { type: 'string' },
  lexicon: { type: 'string' },
  'units-out': { type: 'string' },
  'stats-out': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function synthCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values: v, positionals } = parse(argv, OPTIONS, 'synth');
  if (v.help) {
    process.stdout.write(SYNTH_HELP);
    return 0;
  }
  if (!v.output) throw new UsageError("synth: -o/--output FILE is required; see 'spear synth --help'");
  if (positionals.length > 1) throw new UsageError('synth: give the text as one quoted argument');
  if (positionals.length === 1 && v.file) throw new UsageError('synth: give either "TEXT" or --file, not both');
  if (positionals.length === 0 && !v.file) throw new UsageError('synth: no text; give "TEXT" or --file FILE; see \'spear synth --help\'');
  const settings: Partial<SynthesisSettings> = {
    strategy: oneOf(v.strategy, 'strategy', STRATEGIES, RENAMED_STRATEGIES),
    gamma: gammaArg(v.gamma, 'gamma'),
    ...adaptiveArgs(v.gamma, v['draft-confidence'], v['max-gamma']),
    ...(v.accept ? { acceptance: oneOf(v.accept, 'accept', ['exact', 'groups'] as const) } : {}),
    drafts: draftsArg(v.drafts, 'drafts'),
    ...(v.tree !== undefined ? { tree: treeArg(v.tree, 'tree') } : {}),
    temperature: num(v.temperature, 'temperature', (n) => n >= 0 && n <= 10, 'a number from 0 (greedy) to 10'),
    topK: int(v['top-k'], 'top-k', 1),
    topP: num(v['top-p'], 'top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    seed: int(v.seed, 'seed', 0, 2 ** 31 - 1),
    batchSize: int(v.batch, 'batch', 1, 256),
    rate: num(v.rate, 'rate', (n) => n >= DELIVERY_LIMITS.rate.min && n <= DELIVERY_LIMITS.rate.max, 'a number from 0.5 to 2'),
    pitch: num(v.pitch, 'pitch', (n) => n >= DELIVERY_LIMITS.pitch.min && n <= DELIVERY_LIMITS.pitch.max, 'semitones from -6 to 6'),
    volume: num(v.volume, 'volume', (n) => n >= DELIVERY_LIMITS.volume.min && n <= DELIVERY_LIMITS.volume.max, 'a number from 0 to 2'),
    sentencePauseMs: int(v['sentence-pause'], 'sentence-pause', DELIVERY_LIMITS.pauseMs.min, DELIVERY_LIMITS.pauseMs.max),
    paragraphPauseMs: int(v['paragraph-pause'], 'paragraph-pause', DELIVERY_LIMITS.pauseMs.min, DELIVERY_LIMITS.pauseMs.max),
  };
  if (settings.tree && settings.strategy !== 'medusa') throw new UsageError('--tree: only --strategy medusa drafts a tree');
  if (settings.tree && v.gamma !== undefined) throw new UsageError("--tree replaces --gamma: the tree's depth is its draft length");
  if (settings.strategy === 'ar' && settings.gamma === 'auto') throw new UsageError("--gamma auto: 'ar' drafts nothing, so there is no draft length to adapt");
  checkDrafts(settings.drafts, settings.strategy === undefined ? [] : [settings.strategy], settings.temperature);
  const provider = oneOf(v.provider, 'provider', PROVIDERS);
  let threads = int(v.threads, 'threads', 0, 64);
  let targetThreads = int(v['target-threads'], 'target-threads', 0, 64);
  const workers = workersArg(v.workers ?? 'auto', 'workers')!;
  const rereadings = int(v.rereadings, 'rereadings', 0, 16);
  const format = formatOf(v.output);
  // Every output is checked before any work, so a bad path costs nothing and leaves nothing.
  const subtitleFormat = v.subtitles ? subtitleFormatOf(v.subtitles) : null;
  for (const out of [v.output, v.subtitles, v['units-out'], v['stats-out']]) if (out) await assertWritable(out);
  const text = v.file ? await readDocument(v.file) : positionals[0];
  checkText(text);
  // Read before the voice opens: a named lexicon that is missing or damaged costs nothing.
  const lexiconNotices: string[] = [];
  const lexicon = await loadSynthLexicon(v.lexicon, (line) => lexiconNotices.push(line));

  const json = v.json ? new JsonProgress() : null;
  const quiet = Boolean(v.quiet) || json !== null;
  // This machine's calibration fills in what the user left out (electron/core/calibration).
  const voiceDir = v.voice ?? DEFAULT_VOICE_DIR;
  const lookup = await lookUpDefaults(voiceDir, configDir(), { strategy: settings.strategy, gamma: settings.gamma, threads, targetThreads });
  if (lookup.calibrated) {
    ({ strategy: settings.strategy, gamma: settings.gamma, threads, targetThreads } = lookup.calibrated);
    if (settings.gamma === 'auto') {
      settings.draftConfidence ??= lookup.calibrated.draftConfidence;
      settings.maxGamma ??= lookup.calibrated.maxGamma;
    }
  }
  // One sentence decodes in this thread: workers would only open the model.
  const several = splitSentences(text).length > 1;
  // The workers open only the graphs this run decodes with (its strategy, and the voice's default for re-readings).
  const voice = await openVoice(voiceDir, {
    provider,
    threads,
    targetThreads,
    target: v.target,
    workers: several ? workers : 1,
    workerStrategies: settings.strategy ? [settings.strategy] : [],
  });
  if (voice.provider.fallbackReason) process.stderr.write(`spear: ${voice.provider.fallbackReason}; using CPU\n`);
  for (const line of lexiconNotices) {
    if (json) json.emit('warning', { message: line });
    else process.stderr.write(`spear: warning: ${line}\n`);
  }
  let writer: AudioFileWriter | null = null;
  let progress: ProgressReporter | null = null;
  try {
    // Before decoding: how long and how large, and whether the format can hold it.
    const estimate = estimateSpeech(text, {
      rate: settings.rate,
      sentencePauseSeconds: settings.sentencePauseMs === undefined ? undefined : settings.sentencePauseMs / 1000,
      paragraphPauseSeconds: settings.paragraphPauseMs === undefined ? undefined : settings.paragraphPauseMs / 1000,
    });
    assertFits(v.output, format, estimate.seconds, voice.speaker.sampleRate);
    json?.emit('estimate', {
      seconds: Math.round(estimate.seconds * 10) / 10,
      words: estimate.words,
      format,
      bytes: Math.round(estimateBytes(format, estimate.seconds, voice.speaker.sampleRate)),
    });
    if (!quiet && estimate.seconds >= LONG_JOB_SECONDS) {
      process.stderr.write(
        `spear: estimated ${roughDuration(estimate.seconds)} of audio from ${estimate.words.toLocaleString('en')} words, ` +
          `~${roughBytes(estimateBytes(format, estimate.seconds, voice.speaker.sampleRate))} as ${FORMAT_NAMES[format]}\n`,
      );
    }
    // Which calibration applies, said once the job is sure to run (a refused job prints only its refusal).
    if (lookup.line && !quiet) process.stderr.write(`${lookup.line}\n`);
    writer = await AudioFileWriter.create(v.output, voice.speaker.sampleRate, format);
    const out = writer;
    progress = json ?? (quiet ? { update: () => undefined, done: () => undefined } : new ProgressBar('synth'));
    const bar = progress;
    const sentences: Array<{ text: string; units: number[] }> = [];
    const words: WordTiming[][] = [];
    let total = 0;
    let done = 0;
    let written = 0;
    const onEvent = (event: PipelineEvent): void => {
      if (event.type === 'warning') {
        if (json) json.emit('warning', { message: event.message });
        else process.stderr.write(`spear: warning: ${event.message}\n`);
      } else if (event.type === 'sentences') {
        total = event.sentences.length;
        for (const s of event.sentences) sentences[s.index] = { text: s.text, units: [] };
      } else if (event.type === 'words') {
        words[event.sentence] = event.words;
      } else if (event.type === 'units') {
        sentences[event.sentence].units = event.units;
      } else if (event.type === 'audio') {
        // The writer queues in call order; a failed write surfaces from finish().
        if (event.offsetSamples > written) void out.write(new Float32Array(event.offsetSamples - written));
        void out.write(event.samples);
        written = event.offsetSamples + event.samples.length;
        done++;
        bar.update(done, total, written / event.sampleRate);
      }
    };
    const summary = await synthesize(voice, text, settings, { onEvent, signal, rereadings, wordTimings: subtitleFormat !== null, lexicon });
    await writer.finish();
    progress.done();
    if (v.subtitles && subtitleFormat) await writeFileAtomic(v.subtitles, formatSubtitles(words.flat(), subtitleFormat));
    if (v['units-out']) await writeFileAtomic(v['units-out'], JSON.stringify({ sentences: sentences.filter(Boolean) }) + '\n');
    // Decoder workers the document was shared out to (1: this process decoded it).
    const decodedBy = { workers: voice.pool?.problem === null ? voice.pool.size : 1 };
    if (v['stats-out']) await writeFileAtomic(v['stats-out'], JSON.stringify({ provider: voice.provider, ...decodedBy, ...summary }, null, 2) + '\n');
    json?.emit('done', { output: v.output, format, provider: voice.provider, ...decodedBy, ...summary });
    if (!quiet) {
      const d = summary.decode;
      process.stderr.write(
        `${v.output}: ${summary.audioSeconds.toFixed(2)} s of audio, ${summary.sentences} sentences; ` +
          `${summary.strategy}${summary.strategy === 'ar' ? '' : ` γ=${summary.gamma}`}${settings.tree ? ` tree ${v.tree}` : ''}${(settings.drafts ?? 1) > 1 ? ` K=${settings.drafts}` : ''}: ` +
          `${summary.tokensPerSecond.toFixed(0)} units/s${decodedBy.workers > 1 ? ` on ${decodedBy.workers} decoder workers` : ''}, ` +
          `α ${d.acceptanceRate.toFixed(2)}, τ ${d.meanAcceptedTokens.toFixed(2)}, RTF ${summary.rtf.toFixed(3)}` +
          (summary.rereadSentences > 0 ? `; ${summary.rereadSentences} sentence(s) read again after the reading check` : '') +
          '\n',
      );
    }
    return 0;
  } catch (error) {
    progress?.done();
    await writer?.abort();
    json?.emit('error', { message: signal.aborted ? 'interrupted; nothing was written' : error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    await voice.release();
  }
}
