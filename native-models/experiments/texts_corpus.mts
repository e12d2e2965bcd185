/**
 * A text file (one sentence or paragraph per line) as a corpus folder that `train_t2s.py pack --fake-units`
 * reads: {train,val,test}.jsonl, each line {id, text, phonemes} with the app's own front end. The same rows
 * go into every split. Used to replay the bench texts offline (docs/voice-reading.md, "Session 8"):
 *
 *   node --import tsx native-models/experiments/texts_corpus.mts electron/cli/bench-texts.txt /tmp/benchcorp
 *   /usr/bin/python3 native-models/train_t2s.py pack --corpus /tmp/benchcorp --fake-units --n-units 1024 --unit-rate 25 --out /tmp/benchpack
 *   /usr/bin/python3 native-models/self_distill.py --target RUN/target.pt --pack /tmp/benchpack --out /tmp/bench-greedy --splits val --batch 24
 *   /usr/bin/python3 native-models/analyze_drafting.py --run RUN --pack /tmp/bench-greedy --rows 24
 *   /usr/bin/python3 native-models/experiments/confidence_buckets.py RUN /tmp/bench-greedy 24
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { normalizeText } from '../../electron/text/normalize.ts';
import { phonemeIds } from '../../electron/text/phonemes.ts';

const [src, out] = process.argv.slice(2);
if (!src || !out) throw new Error('usage: texts_corpus.mts TEXTS_FILE OUT_DIR');
mkdirSync(out, { recursive: true });
const rows = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim()).map((line, i) => {
  const text = normalizeText(line);
  return JSON.stringify({ id: `line${i}`, text, phonemes: phonemeIds(text, { normalized: true }) });
});
for (const split of ['train', 'val', 'test']) writeFileSync(`${out}/${split}.jsonl`, rows.join('\n') + '\n');
console.log(`${out}: ${rows.length} rows`);
