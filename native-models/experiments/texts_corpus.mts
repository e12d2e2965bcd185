/**
 * A text file (one sentence per line) as a work folder like native-models/work: corpus/{train,val,test}.jsonl,
 * each line {id, text, phonemes} made with the app's own front end (the same rows in every split), and with
 * --render the teacher's audio wav/<id>.wav (Festival, as the corpus is rendered). Used to replay the bench
 * texts offline and to evaluate the voice on them (docs/voice-reading.md, "Session 8"):
 *
 *   node --import tsx native-models/experiments/texts_corpus.mts electron/cli/bench-texts.txt /tmp/bench [--render]
 *   /usr/bin/python3 native-models/train_t2s.py pack --corpus /tmp/bench/corpus --fake-units --n-units 1024 --unit-rate 25 --out /tmp/benchpack
 *   /usr/bin/python3 native-models/self_distill.py --target RUN/target.pt --pack /tmp/benchpack --out /tmp/bench-greedy --splits val --batch 24
 *   /usr/bin/python3 native-models/analyze_drafting.py --run RUN --pack /tmp/bench-greedy --rows 24
 *   /usr/bin/python3 native-models/experiments/confidence_buckets.py RUN /tmp/bench-greedy 24
 *   # with --render: the teacher's units, then the voice's report on these texts
 *   /usr/bin/python3 native-models/experiments/texts_units.py /tmp/bench
 *   npx spear eval --work /tmp/bench --out DIR
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { normalizeText } from '../../electron/text/normalize.ts';
import { phonemeIds } from '../../electron/text/phonemes.ts';
import { renderAll } from '../data/render.ts';

const [src, out, flag] = process.argv.slice(2);
if (!src || !out || (flag && flag !== '--render')) throw new Error('usage: texts_corpus.mts TEXTS_FILE OUT_DIR [--render]');
mkdirSync(`${out}/corpus`, { recursive: true });
// The corpus's id: the first 16 hex digits of sha1 of the normalised text (what Festival reads).
const rows = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim()).map((line) => {
  const text = normalizeText(line);
  return { id: createHash('sha1').update(text).digest('hex').slice(0, 16), text, phonemes: phonemeIds(text, { normalized: true }) };
});
const jsonl = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
for (const split of ['train', 'val', 'test']) writeFileSync(`${out}/corpus/${split}.jsonl`, jsonl);
console.log(`${out}/corpus: ${rows.length} rows`);
if (flag === '--render') {
  const done = await renderAll(rows, { wavDir: `${out}/wav` });
  console.log(`${out}/wav: ${done.done} rendered, ${done.skipped} already there, ${done.failed} failed`);
}
