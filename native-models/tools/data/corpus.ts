/**
 * Build the TTS corpus and its teacher audio. One resumable command (docs/text-and-corpus.md):
 *
 *   node --import tsx native-models/tools/data/corpus.ts [--steps gather,select,render] [--workers 2]
 *                                                 [--rates 16000[,24000]] [--max-train N]
 *                                                 [--target-train 10000] [--eval-until-train N]
 *                                                 [--extra-caps SOURCE,FAMILY,OPENING] [--refresh]
 *                                                 [--everyday]
 *
 *   gather  paragraphs from dpkg/man/README/info → work/corpus/paragraphs.jsonl (kept unless --refresh)
 *   select  sentences → work/corpus/{train,val,test}.jsonl  {id, text, phonemes} (+ stats.json)
 *   render  Festival teacher audio → work/wav/<id>.wav, test then val then train; skips existing files.
 *           --rates 16000,24000 also writes work/wav-24000/<id>.wav from the same render (a rate other
 *           than 16000 goes to work/wav-<rate>); --max-train N renders only the first N train sentences
 *   --everyday  adds everyday prose from Debian packages (everyday.ts: fortunes-min, wordnet-base,
 *           dict-gcide) to the gathered paragraphs at selection
 *   prune   delete work/wav/<id>.wav files whose id is in no split (left behind when selection changed)
 *
 * Paths are relative to native-models/ (work/ is gitignored: the corpus is never committed).
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { everydayParagraphs } from './everyday.ts';
import { gatherParagraphs, type Paragraph } from './gather.ts';
import { renderAll, type RenderJob } from './render.ts';
import { benchTextKeys, selectCorpus, type Split } from './select.ts';

const WORK_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'work');
const CORPUS_DIR = join(WORK_DIR, 'corpus');
const WAV_DIR = join(WORK_DIR, 'wav');
const PARAGRAPHS = join(CORPUS_DIR, 'paragraphs.jsonl');
// Render order: the small held-out splits first, so a partial run is already usable for evaluation.
const SPLITS: readonly Split[] = ['test', 'val', 'train'];

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

function writeJsonl(path: string, rows: readonly unknown[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''));
  // Rename so a reader (or the render step of another run) never sees half a file.
  renameSync(tmp, path);
}

function gather(refresh: boolean): Paragraph[] {
  if (existsSync(PARAGRAPHS) && !refresh) {
    const paragraphs = readJsonl<Paragraph>(PARAGRAPHS);
    console.log(`gather: ${paragraphs.length} paragraphs (cached in ${PARAGRAPHS}; --refresh to redo)`);
    return paragraphs;
  }
  const paragraphs = gatherParagraphs();
  writeJsonl(PARAGRAPHS, paragraphs);
  console.log(`gather: ${paragraphs.length} paragraphs → ${PARAGRAPHS}`);
  return paragraphs;
}

function select(paragraphs: readonly Paragraph[], targetTrain: number, evalUntilTrain: number, extraCaps?: [number, number, number]): void {
  const { splits, counts } = selectCorpus(paragraphs, { targetTrain, evalUntilTrain, extraCaps, exclude: benchTextKeys() });
  for (const split of SPLITS) writeJsonl(join(CORPUS_DIR, `${split}.jsonl`), splits[split]);
  const stats = {
    ...counts,
    train: splits.train.length,
    val: splits.val.length,
    test: splits.test.length,
    words: Object.values(splits)
      .flat()
      .reduce((n, e) => n + e.text.split(' ').length, 0),
  };
  writeFileSync(join(CORPUS_DIR, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
  console.log(`select: ${JSON.stringify(stats)}`);
}

function corpusJobs(step: string, maxTrain = Number.POSITIVE_INFINITY): RenderJob[] {
  return SPLITS.flatMap((split) => {
    const path = join(CORPUS_DIR, `${split}.jsonl`);
    if (!existsSync(path)) throw new Error(`${step}: ${path} is missing; run the select step first`);
    const rows = readJsonl<RenderJob>(path).map(({ id, text }) => ({ id, text }));
    return split === 'train' ? rows.slice(0, maxTrain) : rows;
  });
}

function prune(): void {
  const ids = new Set(corpusJobs('prune').map((job) => job.id));
  const stale = existsSync(WAV_DIR) ? readdirSync(WAV_DIR).filter((f) => f.endsWith('.wav') && !ids.has(f.slice(0, -4))) : [];
  for (const file of stale) rmSync(join(WAV_DIR, file));
  console.log(`prune: removed ${stale.length} WAV files of sentences no longer in the corpus`);
}

/** Where clips at `rate` Hz go: work/wav at 16 kHz (what the units read), work/wav-<rate> otherwise. */
const wavDirAt = (rate: number): string => (rate === 16000 ? WAV_DIR : `${WAV_DIR}-${rate}`);

async function render(workers: number, rates: readonly number[], maxTrain: number): Promise<void> {
  const jobs = corpusJobs('render', maxTrain);
  let lastPrint = 0;
  const [first, ...rest] = rates;
  const result = await renderAll(jobs, {
    wavDir: wavDirAt(first),
    sampleRate: first,
    also: rest.map((rate) => ({ wavDir: wavDirAt(rate), sampleRate: rate })),
    workers,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastPrint < 10_000 && p.done < p.total) return;
      lastPrint = now;
      const rendered = p.done - p.skipped;
      const rate = rendered / Math.max(p.elapsedSeconds, 1e-9);
      const etaMinutes = rate > 0 ? (p.total - p.done) / rate / 60 : NaN;
      console.log(
        `render: ${p.done}/${p.total} (${p.skipped} already there, ${p.failed} failed) ` +
          `${rate.toFixed(2)}/s, ETA ${etaMinutes.toFixed(1)} min  ${new Date().toISOString()}`,
      );
    },
  });
  console.log(`render: finished ${result.done}/${result.total}, ${result.failed} failed`);
  if (result.failed > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: 'gather,select,render' },
      workers: { type: 'string', default: '2' },
      rates: { type: 'string', default: '16000' },
      'max-train': { type: 'string' },
      'target-train': { type: 'string', default: '10000' },
      'eval-until-train': { type: 'string' },
      'extra-caps': { type: 'string' },
      refresh: { type: 'boolean', default: false },
      everyday: { type: 'boolean', default: false },
    },
  });
  const steps = new Set(values.steps.split(','));
  mkdirSync(CORPUS_DIR, { recursive: true });
  if (steps.has('gather') || steps.has('select')) {
    const gathered = gather(values.refresh);
    const everyday = values.everyday ? everydayParagraphs() : [];
    if (values.everyday) console.log(`gather: ${everyday.length} everyday paragraphs (fortunes-min, wordnet-base, dict-gcide)`);
    const paragraphs = [...gathered, ...everyday];
    if (steps.has('select'))
      select(
        paragraphs,
        Number(values['target-train']),
        Number(values['eval-until-train'] ?? values['target-train']),
        values['extra-caps'] ? (values['extra-caps'].split(',').map(Number) as [number, number, number]) : undefined,
      );
  }
  if (steps.has('render')) await render(Number(values.workers), values.rates.split(',').map(Number), Number(values['max-train'] ?? Number.POSITIVE_INFINITY));
  if (steps.has('prune')) prune();
}

await main();
