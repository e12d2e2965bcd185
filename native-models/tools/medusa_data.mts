/**
 * The Medusa heads' training data: the target's own greedy readings of everyday sentences, with its
 * final hidden state at every position the heads read (native-models/spear_voice/t2s/medusa.py trains on it).
 *
 *   node --import tsx native-models/tools/medusa_data.mts [--voice native-models/voice]
 *        [--out native-models/work/medusa-data] [--train 4000] [--batch 16] [--threads 1]
 *
 * Sentences: the everyday prose of tools/data/everyday.ts (fortunes-min, wordnet-base, dict-gcide),
 * selected, normalised and split into train / val / test as the corpus is (tools/data/select.ts, its
 * hash split), with the bench texts (electron/core/eval/bench-texts.txt) excluded. The train and val
 * splits are read; the test split is left alone.
 *
 * Each sentence is read with the pipeline's own prompt and unit cap (readingRules, pipeline/voice.ts) by
 * `ar`, greedily, in batches; then its finished sequence (prompt, units, and the stop token where it
 * stopped) runs through the `full` graph once, uncached, and `hidden_out` is kept at the positions the
 * Medusa drafter reads: from the prompt's last phoneme to the sequence's second-to-last token.
 *
 * Writes, per split (`train`, `val`): `<split>.tokens.i32` (every sequence, concatenated),
 * `<split>.features.f32` ((positions, d_model), concatenated), and `meta.json` (per sentence: its
 * text, prompt length, sequence length, and where its tokens and features start).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { decode } from '../../electron/core/engine/decode.ts';
import { feedUpTo } from '../../electron/core/engine/feed.ts';
import { KvCache } from '../../electron/core/engine/kv-cache.ts';
import { loadModel } from '../../electron/core/engine/model.ts';
import { SlotTable, type RowState } from '../../electron/core/engine/rows.ts';
import { readingRules, type VoiceSection } from '../../electron/core/pipeline/voice.ts';
import { everydayParagraphs } from './data/everyday.ts';
import { benchTextKeys, selectCorpus, type CorpusEntry } from './data/select.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    voice: { type: 'string', default: path.join(ROOT, 'native-models/voice') },
    out: { type: 'string', default: path.join(ROOT, 'native-models/work/medusa-data') },
    train: { type: 'string', default: '4000' },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '1' },
  },
});

const model = await loadModel(args.voice, { roles: ['full'], threads: Number(args.threads) });
const voice = (model.manifest as { voice?: VoiceSection }).voice;
if (!model.manifest.vocab.phonemes || !voice) throw new Error(`${args.voice}: not a voice (no phoneme range or voice section)`);
const rules = readingRules(model.manifest, voice.max_units);
const graph = model.graphs.full!;
const D = graph.hiddenDim;
const stopToken = model.manifest.stop_token;

const selection = selectCorpus(everydayParagraphs(), { targetTrain: Number(args.train), exclude: benchTextKeys() });
console.log(`sentences: ${JSON.stringify(selection.counts)}; train ${selection.splits.train.length}, val ${selection.splits.val.length}`);

interface SentenceMeta {
  id: string;
  text: string;
  promptLength: number;
  length: number;
  tokenOffset: number;
  /** Row (of d_model floats) of the feature at position promptLength - 2. */
  featureOffset: number;
}

mkdirSync(args.out, { recursive: true });
const meta: Record<string, SentenceMeta[]> = {};
const batchSize = Number(args.batch);
const started = performance.now();
let units = 0;
for (const split of ['val', 'train'] as const) {
  const entries = selection.splits[split].filter((e) => e.phonemes.length > 0 && e.phonemes.length <= rules.maxPhonemes);
  const tokenChunks: Int32Array[] = [];
  const featureChunks: Float32Array[] = [];
  const sentences: SentenceMeta[] = [];
  let tokenOffset = 0;
  let featureOffset = 0;
  for (let b = 0; b < entries.length; b += batchSize) {
    const batch: CorpusEntry[] = entries.slice(b, b + batchSize);
    const prompts = batch.map((e) => rules.prompt(e.phonemes));
    const result = await decode(model, prompts, { strategy: 'ar', maxNewTokens: batch.map((e) => rules.maxUnits(e.phonemes.length)) });
    const seqs = result.rows.map((row, r) => [...prompts[r], ...row.tokens, ...(row.finishReason === 'stop' ? [stopToken] : [])]);
    units += result.summary.tokens;
    const hidden = await uncachedFeatures(seqs);
    seqs.forEach((seq, r) => {
      const first = prompts[r].length - 2;
      const last = seq.length - 2;
      const n = last - first + 1;
      tokenChunks.push(Int32Array.from(seq));
      featureChunks.push(hidden[r].slice(first * D, (last + 1) * D));
      sentences.push({ id: batch[r].id, text: batch[r].text, promptLength: prompts[r].length, length: seq.length, tokenOffset, featureOffset });
      tokenOffset += seq.length;
      featureOffset += n;
    });
    const s = (performance.now() - started) / 1000;
    process.stdout.write(`\r${split}: ${Math.min(b + batchSize, entries.length)}/${entries.length} sentences, ${units} units, ${s.toFixed(0)} s`);
  }
  process.stdout.write('\n');
  writeFileSync(path.join(args.out, `${split}.tokens.i32`), concat(tokenChunks, Int32Array));
  writeFileSync(path.join(args.out, `${split}.features.f32`), concat(featureChunks, Float32Array));
  meta[split] = sentences;
}
writeFileSync(
  path.join(args.out, 'meta.json'),
  `${JSON.stringify({ voice: path.relative(ROOT, path.resolve(args.voice)), d_model: D, vocab_size: model.vocabSize, stop_token: stopToken, ...meta })}\n`,
);
console.log(`wrote ${args.out}`);
await model.release();

/** The `full` graph's hidden_out at every position of each sequence, one uncached call per batch. */
async function uncachedFeatures(seqs: number[][]): Promise<Float32Array[]> {
  const capacity = Math.max(...seqs.map((s) => s.length));
  const cache = KvCache.forGraph(graph.entry, seqs.length, capacity);
  const rows: RowState[] = seqs.map((seq, id) => ({
    id,
    seq,
    promptLength: seq.length,
    maxLength: seq.length,
    uniform: () => 0,
    steps: 0,
    finishReason: null,
  }));
  const table = new SlotTable(rows);
  const fed = await feedUpTo(graph, cache, table, { end: (row) => row.seq.length });
  return seqs.map((seq, s) => fed.hidden!.slice(s * fed.T * D, (s * fed.T + seq.length) * D));
}

function concat<T extends Int32Array | Float32Array>(chunks: T[], Kind: { new (n: number): T }): Uint8Array {
  const out = new Kind(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return new Uint8Array(out.buffer);
}
