/**
 * `spear eval`: the voice's report on the held-out test sentences (never trained on):
 * intelligibility (pocketsphinx WER of the teacher's audio, of resynthesis from the teacher's units,
 * and of the whole pipeline at the default settings), acceptance per drafter (α, τ for γ 1–8, greedy
 * and sampled), and the validation losses the trainer recorded. Writes eval.json and eval.md.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinSamples } from '../core/audio/samples.ts';
import { encodeWav } from '../core/audio/wav.ts';
import { assertWritable } from '../core/audio/write.ts';
import { decode, type Strategy } from '../core/engine/decode.ts';
import type { UnitGroups } from '../core/engine/verify.ts';
import { writeFileAtomic } from '../core/files.ts';
import { heldOutSentences, type HeldOutSentence } from '../core/eval/held-out.ts';
import { mapLimit, transcribe } from '../core/eval/pocketsphinx.ts';
import { corpusWer } from '../core/eval/wer.ts';
import type { ReadingCheckResult } from '../core/pipeline/events.ts';
import { resolveRereadings, resolveSettings, synthesize } from '../core/pipeline/synthesize.ts';
import { openVoice, type Voice } from '../core/pipeline/voice.ts';
import { int, list, num, oneOf, parse, shellWord } from './args.ts';
import { InputError } from '../core/errors.ts';
import { DEFAULT_VOICE_DIR } from '../core/voice-path.ts';

const WORK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native-models/work');

export const EVAL_HELP = `Usage: spear eval [options]

Intelligibility and acceptance report of the voice on the test sentences (native-models/work, made by
native-models/tools/data; see docs/voice-reading.md). Writes eval.json and eval.md.

Options:
      --limit N              test sentences for the WER columns (default: all of them)
      --acceptance-limit N   test sentences for the acceptance table (default 40)
      --gammas LIST          default 1,2,3,4,5,6,7,8
      --temperature T        the sampled column's temperature (default 0.8)
      --pipeline-temperature T
                             temperature of the pipeline's WER column (default: the voice's, 0 = greedy)
      --rereadings N         the pipeline's re-readings of a sentence that fails the reading check
                             (default: the voice's, 3; 0 = speak every first reading)
      --accept MODE          exact (default, lossless) or groups: lossy, the pipeline's first readings and
                             the acceptance tables accept a draft in the target's unit group (the voice's
                             voice.unit_groups; try another K on a copy of the voice with
                             python3 -m spear_voice.units.groups DIR --k K)
      --work DIR             corpus/wav/units folder (default native-models/work)
      --out DIR              report folder (default native-models/work/reports)
      --voice DIR            voice directory (default: native-models/voice)
      --target NAME          which build of the voice's target decodes: int8 (its own) or float32
  -h, --help                 this help
`;

const OPTIONS = {
  limit: { type: 'string' },
  'acceptance-limit': { type: 'string' },
  gammas: { type: 'string' },
  temperature: { type: 'string' },
  'pipeline-temperature': { type: 'string' },
  rereadings: { type: 'string' },
  accept: { type: 'string' },
  work: { type: 'string' },
  out: { type: 'string' },
  voice: { type: 'string' },
  target: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface AcceptanceRow {
  strategy: Strategy;
  gamma: number;
  temperature: number;
  acceptance_rate: number;
  mean_accepted_tokens: number;
}

async function acceptance(
  voice: Voice,
  sentences: HeldOutSentence[],
  gammas: number[],
  temperatures: number[],
  groups: UnitGroups | undefined,
  signal: AbortSignal,
): Promise<AcceptanceRow[]> {
  const prompts = sentences.map((s) => voice.prompt(s.phonemes));
  const maxNewTokens = sentences.map((s) => voice.maxUnits(s.phonemes.length));
  const rows: AcceptanceRow[] = [];
  for (const temperature of temperatures) {
    for (const strategy of ['early-exit', 'draft', 'eagle'] as Strategy[]) {
      for (const gamma of gammas) {
        process.stderr.write(`\reval: acceptance ${strategy} γ=${gamma} T=${temperature}   `);
        const r = await decode(voice.decoder, prompts, {
          strategy,
          gamma,
          temperature,
          maxNewTokens,
          seeds: sentences.map((_, i) => i),
          ...(groups ? { acceptGroups: groups } : {}),
          signal,
        });
        rows.push({ strategy, gamma, temperature, acceptance_rate: r.summary.acceptanceRate, mean_accepted_tokens: r.summary.meanAcceptedTokens });
      }
    }
  }
  process.stderr.write('\r\x1b[K');
  return rows;
}

const pct = (x: number): string => x.toFixed(1);

/** The report's sentence about the reading check: off, absent, or how many first readings it sent back. */
function readingCheckLine(check: { rereadings: number; checked: number; reread: number } | null): string {
  if (!check) return 'Reading check: none (the voice has no checker).';
  if (check.rereadings === 0) return 'Reading check: off (`--rereadings 0`): every first reading was spoken.';
  return (
    `Reading check: ${check.reread} of ${check.checked} sentences failed their first reading and were read again ` +
    `(${check.rereadings} sampled re-readings each; the best-scoring reading was spoken).`
  );
}

export async function evalCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, 'eval');
  if (v.help) {
    process.stdout.write(EVAL_HELP);
    return 0;
  }
  const limit = int(v.limit, 'limit', 1) ?? Number.POSITIVE_INFINITY;
  const acceptanceLimit = int(v['acceptance-limit'], 'acceptance-limit', 1) ?? 40;
  const gammas = list(v.gammas, 'gammas', (s) => int(s, 'gammas', 1, 16)!) ?? [1, 2, 3, 4, 5, 6, 7, 8];
  const sampledTemperature = num(v.temperature, 'temperature', (n) => n > 0 && n <= 10, 'a number in (0, 10]') ?? 0.8;
  const pipelineTemperature = num(v['pipeline-temperature'], 'pipeline-temperature', (n) => n >= 0 && n <= 10, 'a number in [0, 10]');
  const rereadings = int(v.rereadings, 'rereadings', 0, 16);
  const acceptMode = oneOf(v.accept, 'accept', ['exact', 'groups'] as const) ?? 'exact';
  const work = v.work ?? WORK;
  const outDir = v.out ?? path.join(work, 'reports');
  // The corpus first: on a fresh clone it is what is missing, and the message says how to make it.
  const { sentences, unitsById } = await heldOutSentences(work, 'test');
  const chosen = sentences.slice(0, limit);
  if (chosen.length === 0) throw new InputError(`${work}: no test sentence has both audio units and text`);
  // The report comes after minutes of work: a folder it cannot be written to fails now, not then. The
  // default report folder is made; one the user named must exist.
  if (v.out === undefined) await mkdir(outDir, { recursive: true }).catch(() => undefined);
  for (const file of ['eval.json', 'eval.md']) await assertWritable(path.join(outDir, file));

  const voice = await openVoice(v.voice ?? DEFAULT_VOICE_DIR, { target: v.target });
  const scratch = await mkdtemp(path.join(tmpdir(), 'spear-eval-'));
  try {
    const settings = resolveSettings(voice, {
      ...(pipelineTemperature === undefined ? {} : { temperature: pipelineTemperature }),
      ...(acceptMode === 'groups' ? { acceptance: 'groups' as const } : {}),
    });
    // resolveSettings has refused groups on a voice without them.
    const groups = acceptMode === 'groups' ? voice.acceptGroups! : undefined;
    const groupCount = voice.section.unit_groups?.k;
    const sr = voice.speaker.sampleRate;
    let done = 0;
    const transcripts = await mapLimit(chosen, 2, async (s) => {
      // Teacher audio, its units spoken again, and the studio's own reading of the text.
      const resynth = path.join(scratch, `${s.id}.resynth.wav`);
      await writeFileAtomic(resynth, encodeWav(await voice.speaker.speak(voice.speaker.fromCodebook(unitsById.get(s.id)!)), sr));
      const pieces: Float32Array[] = [];
      const checks: ReadingCheckResult[] = [];
      await synthesize(voice, s.text, settings, {
        signal,
        rereadings,
        wordTimings: false,
        onEvent: (e) => {
          if (e.type === 'audio') pieces.push(e.samples);
          else if (e.type === 'units' && e.check) checks.push(e.check);
        },
      });
      const pipeline = path.join(scratch, `${s.id}.pipeline.wav`);
      await writeFileAtomic(pipeline, encodeWav(joinSamples(pieces), sr));
      const row = {
        id: s.id,
        text: s.text,
        teacher: await transcribe(path.join(work, 'wav', `${s.id}.wav`)),
        resynthesis: await transcribe(resynth),
        pipeline: await transcribe(pipeline),
        check: checks[0] ?? null,
      };
      process.stderr.write(`\reval: transcribed ${++done}/${chosen.length}   `);
      return row;
    });
    process.stderr.write('\r\x1b[K');
    const wer = (key: 'teacher' | 'resynthesis' | 'pipeline') => corpusWer(transcripts.map((t) => ({ reference: t.text, hypothesis: t[key] })));
    const intelligibility = { teacher: wer('teacher'), resynthesis: wer('resynthesis'), pipeline: wer('pipeline') };
    const accept = await acceptance(voice, chosen.slice(0, acceptanceLimit), gammas, [0, sampledTemperature], groups, signal);
    const training = (voice.decoder.manifest.training ?? {}) as { validation?: Record<string, number> };
    const checked = transcripts.filter((t) => t.check !== null);
    const reread = checked.filter((t) => t.check!.rereadings > 0).length;
    const report = {
      voice: voice.dir,
      sentences: chosen.length,
      acceptance_sentences: Math.min(acceptanceLimit, chosen.length),
      default_settings: settings,
      // Lossy acceptance changes the first readings and the acceptance tables; never lossless.
      accept: acceptMode,
      unit_groups: acceptMode === 'groups' ? groupCount : null,
      lossless: acceptMode === 'exact',
      intelligibility,
      pipeline_minus_teacher_wer: intelligibility.pipeline.wer - intelligibility.teacher.wer,
      reading_check: voice.checker ? { rereadings: resolveRereadings(voice, rereadings), checked: checked.length, reread } : null,
      acceptance: accept,
      validation_losses: training.validation ?? null,
      transcripts,
    };
    await writeFileAtomic(path.join(outDir, 'eval.json'), JSON.stringify(report, null, 2) + '\n');
    const table = (t: number): string[] => {
      const strategies = ['early-exit', 'draft', 'eagle'] as const;
      const lines = [`| γ | ${strategies.map((s) => `${s} α | ${s} τ`).join(' | ')} |`, `| --- |${' --- | --- |'.repeat(strategies.length)}`];
      for (const g of gammas) {
        const cells = strategies.map((s) => {
          const r = accept.find((a) => a.strategy === s && a.gamma === g && a.temperature === t)!;
          return `${r.acceptance_rate.toFixed(3)} | ${r.mean_accepted_tokens.toFixed(2)}`;
        });
        lines.push(`| ${g} | ${cells.join(' | ')} |`);
      }
      return lines;
    };
    const md = [
      `# Voice evaluation`,
      '',
      `Command: \`${['spear eval', ...argv.map(shellWord)].join(' ')}\`; voice \`${path.relative(process.cwd(), voice.dir)}\`; ${chosen.length} ${work === WORK ? 'test sentences of the corpus (never trained on)' : `test sentences of \`${work}\``}.`,
      `Pipeline settings: strategy ${settings.strategy}, γ ${settings.gamma}, temperature ${settings.temperature}${pipelineTemperature === undefined ? " (the voice's defaults)" : ''}.`,
      ...(acceptMode === 'groups'
        ? [
            '',
            `Acceptance: groups, lossy (${groupCount} unit groups): first readings and the acceptance tables accept a draft in the target's unit group; re-readings stay exact.`,
          ]
        : []),
      '',
      '## Intelligibility (pocketsphinx WER, %)',
      '',
      '| audio | WER | errors / words |',
      '| --- | --- | --- |',
      ...(['teacher', 'resynthesis', 'pipeline'] as const).map(
        (k) => `| ${k} | ${pct(intelligibility[k].wer)} | ${intelligibility[k].errors} / ${intelligibility[k].words} |`,
      ),
      '',
      `Pipeline − teacher: ${pct(report.pipeline_minus_teacher_wer)} WER points (target ≤ 10).`,
      '',
      readingCheckLine(report.reading_check),
      '',
      `## Acceptance, greedy (temperature 0), ${report.acceptance_sentences} sentences`,
      '',
      ...table(0),
      '',
      `## Acceptance, sampled (temperature ${sampledTemperature})`,
      '',
      ...table(sampledTemperature),
      '',
      '## Validation losses',
      '',
      training.validation
        ? Object.entries(training.validation)
            .filter(([k]) => k.endsWith('_ce'))
            .map(([k, x]) => `- ${k}: ${x.toFixed(4)} nats per unit`)
            .join('\n')
        : 'not recorded in the manifest',
      '',
    ].join('\n');
    await writeFileAtomic(path.join(outDir, 'eval.md'), md);
    process.stdout.write(md);
    return 0;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await voice.release();
  }
}
