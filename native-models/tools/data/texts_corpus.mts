/**
 * A text file (one sentence per line) as a work folder like native-models/work: corpus/{train,val,test}.jsonl,
 * each line {id, text, phonemes} made with the app's own front end, and with --render the teacher's audio
 * wav/<id>.wav (Festival, as the corpus is rendered). Two uses (docs/voice-reading.md):
 *
 * 1. Replaying or evaluating the voice on some texts (every split gets every line):
 *   node --import tsx native-models/tools/data/texts_corpus.mts electron/core/eval/bench-texts.txt /tmp/bench [--render]
 *   cd native-models
 *   python3 -m spear_voice.train_t2s pack --corpus /tmp/bench/corpus --fake-units --n-units 1024 --unit-rate 25 --out /tmp/benchpack
 *   python3 -m spear_voice.train_t2s.self_distill --target RUN/target.pt --pack /tmp/benchpack --out /tmp/bench-greedy --splits val --batch 24
 *   python3 research/analyze_drafting.py --run RUN --pack /tmp/bench-greedy --rows 24   # by depth and by the target's sureness
 *   # with --render: the teacher's units, then the voice's report on these texts
 *   python3 -m spear_voice.units.texts_units /tmp/bench
 *   npx spear eval --work /tmp/bench --out DIR
 *
 * 2. More training sentences (--train-only): only corpus/train.jsonl is written, with the corpus's own
 *    filters (select.ts: clean prose, 3-25 words, every word in the dictionary), deduplicated, and without
 *    any sentence of the corpus's validation and test splits or of the bench texts (held out everywhere):
 *   node --import tsx native-models/tools/data/texts_corpus.mts native-models/work/lm/sentences.txt native-models/work/lm --train-only --render
 *   (cd native-models && python3 -m spear_voice.units.texts_units work/lm --split train)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { normalizeText } from '../../../electron/core/text/normalize.ts';
import { phonemeIds } from '../../../electron/core/text/phonemes.ts';
import { renderAll } from './render.ts';
import { benchTextKeys, dedupKey, isCleanSource, isReadable, sentenceHash } from './select.ts';

// From this file, so that the held-out sentences are found whatever the working directory.
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const HELD_OUT = ['native-models/work/corpus/val.jsonl', 'native-models/work/corpus/test.jsonl'].map((f) => path.join(ROOT, f));

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { render: { type: 'boolean', default: false }, 'train-only': { type: 'boolean', default: false } },
});
const [src, out] = positionals;
if (!src || !out) throw new Error('usage: texts_corpus.mts TEXTS_FILE OUT_DIR [--train-only] [--render]');
const trainOnly = values['train-only'];

const heldOut = new Set<string>();
if (trainOnly) {
  for (const file of HELD_OUT.filter(existsSync)) {
    for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) heldOut.add(dedupKey((JSON.parse(line) as { text: string }).text));
  }
  for (const key of benchTextKeys()) heldOut.add(key);
}

const seen = new Set<string>();
const rows = [];
let read = 0;
for (const line of readFileSync(src, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  read++;
  if (trainOnly && !isCleanSource(line.trim())) continue;
  const text = normalizeText(line);
  if (trainOnly && (!isReadable(text, 3, 25) || heldOut.has(dedupKey(text)) || seen.has(dedupKey(text)))) continue;
  seen.add(dedupKey(text));
  // The corpus's id: the first 16 hex digits of sha1 of the normalised text (what Festival reads).
  rows.push({ id: sentenceHash(text).subarray(0, 8).toString('hex'), text, phonemes: phonemeIds(text, { normalized: true }) });
}
mkdirSync(`${out}/corpus`, { recursive: true });
const jsonl = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
for (const split of ['train', 'val', 'test']) writeFileSync(`${out}/corpus/${split}.jsonl`, trainOnly && split !== 'train' ? '' : jsonl);
console.log(`${out}/corpus: ${rows.length} rows of ${read} lines${trainOnly ? ' (train only, filtered)' : ''}`);
if (values.render) {
  const done = await renderAll(rows, { wavDir: `${out}/wav` });
  console.log(`${out}/wav: ${done.done} rendered, ${done.skipped} already there, ${done.failed} failed`);
}
