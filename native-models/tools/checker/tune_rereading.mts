/**
 * Chooses the re-reading policy of the reading check on sentences that are not test sentences.
 *
 *   node --import tsx native-models/tools/checker/tune_rereading.mts [--split val] [--readings 8]
 *        [--temperature 0.5] [--limit N] [--jobs 2] [--voice native-models/voice] [--out FILE]
 *
 * For every sentence of the split (sorted by id), decodes what the pipeline would: the first reading at
 * the voice's default settings, then `readings` sampled re-readings at `temperature` with the voice's own
 * strategy and γ and the seeds synthesize() gives a lone sentence (seed 0, index 0: stride × (k + 1)), so
 * re-readings 1..K here are the ones the app makes. Every reading is scored by the checker, spoken by the
 * voice's speaker and transcribed by pocketsphinx, together with the teacher's audio and the resynthesis
 * of the teacher's units. Then every policy (threshold × number of re-readings; the voice's own threshold
 * first) is replayed offline: a sentence whose first reading scores above the threshold speaks the
 * best-scoring of its first K+1 readings. Writes FILE (JSON: per-sentence readings and the policy table) and prints the table.
 * Default out: native-models/work/reports/tune-rereading-<split>.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../../../electron/core/audio/wav.ts';
import { heldOutSentences } from '../../../electron/core/eval/held-out.ts';
import { decode, type Strategy } from '../../../electron/core/engine/decode.ts';
import { mapLimit, transcribe } from '../../../electron/core/eval/pocketsphinx.ts';
import { werWords, wordErrors } from '../../../electron/core/eval/wer.ts';
import { REREADING_SEED_STRIDE, resolveSettings } from '../../../electron/core/pipeline/synthesize.ts';
import { openVoice } from '../../../electron/core/pipeline/voice.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const WORK = path.join(ROOT, 'native-models/work');
const { values: args } = parseArgs({
  options: {
    split: { type: 'string', default: 'val' },
    readings: { type: 'string', default: '8' },
    temperature: { type: 'string', default: '0.5' },
    limit: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '8' },
    voice: { type: 'string', default: path.join(ROOT, 'native-models/voice') },
    out: { type: 'string' },
  },
});
const K = Number(args.readings);
const temperature = Number(args.temperature);
const out = args.out ?? path.join(WORK, `reports/tune-rereading-${args.split}.json`);

const held = await heldOutSentences(WORK, args.split);
const units = held.unitsById;
const sentences = held.sentences.slice(0, args.limit ? Number(args.limit) : undefined);

const voice = await openVoice(args.voice);
if (!voice.checker) throw new Error(`${args.voice}: no checker/`);
const settings = resolveSettings(voice, {});
const strategy = (voice.section.default_strategy ?? settings.strategy) as Strategy;
const gamma = voice.section.default_gamma ?? settings.gamma;
const scratch = await mkdtemp(path.join(tmpdir(), 'spear-tune-'));
const sr = voice.speaker.sampleRate;

interface Reading {
  score: number;
  errors: number;
  transcript: string;
  units: number;
}
interface Row {
  id: string;
  text: string;
  words: number;
  teacher: number;
  resynthesis: number;
  readings: Reading[];
}
const rows: Row[] = [];
const started = performance.now();
const errorsOf = (text: string, hypothesis: string): number => wordErrors(werWords(text), werWords(hypothesis));
try {
  const B = Number(args.batch);
  for (let start = 0; start < sentences.length; start += B) {
    const chunk = sentences.slice(start, start + B);
    const prompts = chunk.map((s) => voice.prompt(s.phonemes));
    const caps = chunk.map((s) => voice.maxUnits(s.phonemes.length));
    const first = await decode(voice.decoder, prompts, {
      ...settings,
      strategy: settings.strategy as Strategy,
      maxNewTokens: caps,
      seeds: chunk.map(() => settings.seed),
    });
    const again = await decode(
      voice.decoder,
      chunk.flatMap((_, i) => Array.from({ length: K }, () => prompts[i])),
      {
        strategy,
        gamma,
        temperature,
        maxNewTokens: chunk.flatMap((_, i) => Array.from({ length: K }, () => caps[i])),
        seeds: chunk.flatMap(() => Array.from({ length: K }, (_, k) => settings.seed + REREADING_SEED_STRIDE * (k + 1))),
      },
    );
    const done = await mapLimit(chunk, Number(args.jobs), async (s, i) => {
      const wav = async (name: string, u: readonly number[]): Promise<string> => {
        const file = path.join(scratch, `${s.id}.${name}.wav`);
        await writeFile(file, encodeWav(await voice.speaker.speak(u), sr));
        return file;
      };
      const all = [first.rows[i].tokens, ...again.rows.slice(i * K, (i + 1) * K).map((r) => r.tokens)].map((t) => voice.units(t));
      const readings: Reading[] = [];
      for (const [k, u] of all.entries()) {
        const transcript = await transcribe(await wav(`r${k}`, u));
        readings.push({ score: await voice.checker!.score(u, s.phonemes), errors: errorsOf(s.text, transcript), transcript, units: u.length });
      }
      return {
        id: s.id,
        text: s.text,
        words: werWords(s.text).length,
        teacher: errorsOf(s.text, await transcribe(path.join(WORK, 'wav', `${s.id}.wav`))),
        resynthesis: errorsOf(s.text, await transcribe(await wav('resynth', voice.speaker.fromCodebook(units.get(s.id)!)))),
        readings,
      };
    });
    rows.push(...done);
    process.stderr.write(`\rtune: ${rows.length}/${sentences.length} sentences, ${((performance.now() - started) / 1000).toFixed(0)} s   `);
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
  await voice.release();
}
process.stderr.write('\n');

const words = rows.reduce((n, r) => n + r.words, 0);
const pct = (errors: number): number => (100 * errors) / words;
/** WER when a first reading that `fails` is replaced by the best-scoring of its first k+1 readings. */
const policy = (fails: (score: number) => boolean, k: number): { wer: number; reread: number } => {
  let errors = 0;
  let reread = 0;
  for (const r of rows) {
    let best = r.readings[0];
    if (k > 0 && fails(best.score)) {
      reread++;
      for (const x of r.readings.slice(1, k + 1)) if (x.score < best.score) best = x;
    }
    errors += best.errors;
  }
  return { wer: pct(errors), reread };
};
// The voice's own check first (its checker's threshold), then fixed thresholds.
const thresholds: Array<{ threshold: number | 'voice'; fails: (score: number) => boolean }> = [
  { threshold: 'voice', fails: (score) => voice.checker!.needsRereading(score) },
  ...[0.4, 0.285, 0.2, 0.15, 0.1, 0].map((t) => ({ threshold: t, fails: (score: number) => score > t })),
];
const table = thresholds.map(({ threshold, fails }) => ({ threshold, byRereadings: Array.from({ length: K + 1 }, (_, k) => policy(fails, k)) }));
const oracle = pct(rows.reduce((n, r) => n + Math.min(...r.readings.map((x) => x.errors)), 0));
const report = {
  split: args.split,
  sentences: rows.length,
  words,
  readings: K,
  temperature,
  strategy,
  gamma,
  teacher: pct(rows.reduce((n, r) => n + r.teacher, 0)),
  resynthesis: pct(rows.reduce((n, r) => n + r.resynthesis, 0)),
  oracle_best_of_all: oracle,
  table,
  rows,
};
await writeFile(out, JSON.stringify(report, null, 1) + '\n');
console.log(
  `${args.split}: ${rows.length} sentences, ${words} words; teacher ${report.teacher.toFixed(1)} %, resynthesis ${report.resynthesis.toFixed(1)} %, oracle (best of ${K + 1} by WER) ${oracle.toFixed(1)} %`,
);
console.log(`| threshold | ${Array.from({ length: K + 1 }, (_, k) => `K=${k}`).join(' | ')} |`);
for (const t of table) console.log(`| ${t.threshold} | ${t.byRereadings.map((p) => `${p.wer.toFixed(1)} (${p.reread})`).join(' | ')} |`);
console.log(`wrote ${out}`);
