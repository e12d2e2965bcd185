/** `spear synth`: text in, an audio file out. */
import { AudioFileWriter, assertWritable, formatOf } from '../core/audio/write.ts';
import { lookUpDefaults } from '../core/calibration/defaults.ts';
import { configDir } from '../core/calibration/store.ts';
import { STRATEGIES } from '../core/engine/decode.ts';
import { PROVIDERS } from '../core/engine/model.ts';
import { writeFileAtomic } from '../core/files.ts';
import type { PipelineEvent, SynthesisSettings } from '../core/pipeline/events.ts';
import { checkText, synthesize } from '../core/pipeline/synthesize.ts';
import { openVoice } from '../core/pipeline/voice.ts';
import { int, num, oneOf, parse, UsageError } from './args.ts';
import { readTextFile } from './input.ts';
import { ProgressBar } from './progress.ts';
import { DEFAULT_VOICE_DIR } from '../core/voice-path.ts';

export const SYNTH_HELP = `Usage: spear synth "TEXT" -o out.wav
       spear synth --file in.txt -o out.mp3

Reads text aloud with the shipped voice and writes WAV (16-bit PCM) or MP3.

Options:
  -o, --output FILE        audio file to write (.wav or .mp3); written atomically
  -f, --file FILE          read the text from a UTF-8 file instead of the argument ("-": standard input)
      --strategy S         ar | early-exit | draft | prophet (default: this machine's calibrated
                           choice ('spear calibrate'), else the voice's fastest lossless one)
      --gamma N            drafted tokens per step, 1-16 (default: the calibrated one, else the voice's)
      --temperature T      0 = greedy (default: the voice's)
      --top-k K            sample only from the K most likely units
      --top-p P            nucleus sampling mass, in (0, 1]
      --seed N             random seed (default 0)
      --batch N            sentences decoded together (default 8)
      --rereadings N       sampled re-readings of a sentence whose reading fails the voice's
                           reading check; the best-scoring one is spoken (default 3; 0 = off)
      --provider P         cpu | webgpu | cuda (falls back to CPU and says so)
      --threads N          intra-op threads per ONNX session (default: calibrated, else 1)
      --target-threads N   intra-op threads of the verifying graphs, full and rest (default: calibrated,
                           else --threads)
      --voice DIR          voice directory (default: native-models/voice)
      --units-out FILE     write {"sentences":[{"text","units"}]} as JSON
      --stats-out FILE     write the run's statistics as JSON
  -q, --quiet              no progress bar, no summary
  -h, --help               this help
`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  file: { type: 'string', short: 'f' },
  strategy: { type: 'string' },
  gamma: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
  rereadings: { type: 'string' },
  provider: { type: 'string' },
  threads: { type: 'string' },
  'target-threads': { type: 'string' },
  voice: { type: 'string' },
  'units-out': { type: 'string' },
  'stats-out': { type: 'string' },
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
  if (positionals.length === 0 && !v.file) throw new UsageError("synth: no text; give \"TEXT\" or --file FILE; see 'spear synth --help'");
  const settings: Partial<SynthesisSettings> = {
    strategy: oneOf(v.strategy, 'strategy', STRATEGIES),
    gamma: int(v.gamma, 'gamma', 1, 16),
    temperature: num(v.temperature, 'temperature', (n) => n >= 0 && n <= 10, 'a number from 0 (greedy) to 10'),
    topK: int(v['top-k'], 'top-k', 1),
    topP: num(v['top-p'], 'top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    seed: int(v.seed, 'seed', 0, 2 ** 31 - 1),
    batchSize: int(v.batch, 'batch', 1, 256),
  };
  const provider = oneOf(v.provider, 'provider', PROVIDERS);
  let threads = int(v.threads, 'threads', 0, 64);
  let targetThreads = int(v['target-threads'], 'target-threads', 0, 64);
  const rereadings = int(v.rereadings, 'rereadings', 0, 16);
  formatOf(v.output);
  // Every output is checked before any work, so a bad path costs nothing and leaves nothing.
  for (const out of [v.output, v['units-out'], v['stats-out']]) if (out) await assertWritable(out);
  const text = v.file ? await readTextFile(v.file) : positionals[0];
  checkText(text);

  const quiet = Boolean(v.quiet);
  // This machine's calibration fills in what the user left out (electron/core/calibration).
  const voiceDir = v.voice ?? DEFAULT_VOICE_DIR;
  const lookup = await lookUpDefaults(voiceDir, configDir(), { strategy: settings.strategy, gamma: settings.gamma, threads, targetThreads });
  if (lookup.calibrated) {
    ({ strategy: settings.strategy, gamma: settings.gamma, threads, targetThreads } = lookup.calibrated);
  }
  if (lookup.line && !quiet) process.stderr.write(`${lookup.line}\n`);
  const voice = await openVoice(voiceDir, { provider, threads, targetThreads });
  if (voice.provider.fallbackReason) process.stderr.write(`spear: ${voice.provider.fallbackReason}; using CPU\n`);
  let writer: AudioFileWriter | null = null;
  try {
    writer = await AudioFileWriter.create(v.output, voice.speaker.sampleRate);
    const out = writer;
    const progress = new ProgressBar('synth');
    const sentences: Array<{ text: string; units: number[] }> = [];
    let total = 0;
    let done = 0;
    let written = 0;
    const onEvent = (event: PipelineEvent): void => {
      if (event.type === 'sentences') {
        total = event.sentences.length;
        for (const s of event.sentences) sentences[s.index] = { text: s.text, units: [] };
      } else if (event.type === 'units') {
        sentences[event.sentence].units = event.units;
      } else if (event.type === 'audio') {
        // The writer queues in call order; a failed write surfaces from finish().
        if (event.offsetSamples > written) void out.write(new Float32Array(event.offsetSamples - written));
        void out.write(event.samples);
        written = event.offsetSamples + event.samples.length;
        done++;
        if (!quiet) progress.update(done, total);
      }
    };
    const summary = await synthesize(voice, text, settings, { onEvent, signal, rereadings });
    await writer.finish();
    progress.done();
    if (v['units-out']) await writeFileAtomic(v['units-out'], JSON.stringify({ sentences: sentences.filter(Boolean) }) + '\n');
    if (v['stats-out']) await writeFileAtomic(v['stats-out'], JSON.stringify({ provider: voice.provider, ...summary }, null, 2) + '\n');
    if (!quiet) {
      const d = summary.decode;
      process.stderr.write(
        `${v.output}: ${summary.audioSeconds.toFixed(2)} s of audio, ${summary.sentences} sentences; ` +
          `${summary.strategy}${summary.strategy === 'ar' ? '' : ` γ=${summary.gamma}`}: ${summary.tokensPerSecond.toFixed(0)} units/s, ` +
          `α ${d.acceptanceRate.toFixed(2)}, τ ${d.meanAcceptedTokens.toFixed(2)}, RTF ${summary.rtf.toFixed(3)}` +
          (summary.rereadSentences > 0 ? `; ${summary.rereadSentences} sentence(s) read again after the reading check` : '') +
          '\n',
      );
    }
    return 0;
  } catch (error) {
    await writer?.abort();
    throw error;
  } finally {
    await voice.release();
  }
}
