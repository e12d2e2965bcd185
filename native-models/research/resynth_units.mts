/**
 * Resynthesis WER of the teacher's units after merging the codebook into K groups (coarse_units.py --maps
 * DIR), spoken and transcribed by pocketsphinx as `spear eval` does (docs/results.md):
 *   - by today's speaker, every unit replaced by its group's representative (each DIR/units-K.json);
 *   - with --speaker SDIR (a speaker trained on groups: spear_voice.speaker.train --unit_map DIR/units-K.json, then
 *     spear_voice.speaker.export), by that speaker, fed the groups themselves: the `unit_groups` of its speaker.json
 *     (Speaker.fromCodebook; a speaker of the whole codebook, such as a control, has none and is fed the units).
 *
 *   /usr/bin/python3 native-models/research/coarse_units.py --run RUN --pack GREEDY_PACK --maps native-models/work/coarse
 *   node --import tsx native-models/research/resynth_units.mts native-models/work/coarse [--limit 100]
 *   node --import tsx native-models/research/resynth_units.mts --speaker SDIR [--limit 100]
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeWav } from '../../electron/core/audio/wav.ts';
import { heldOutSentences } from '../../electron/core/eval/held-out.ts';
import { DEFAULT_VOICE_DIR } from '../../electron/core/voice-path.ts';
import { mapLimit, transcribe } from '../../electron/core/eval/pocketsphinx.ts';
import { corpusWer } from '../../electron/core/eval/wer.ts';
import { writeFileAtomic } from '../../electron/core/files.ts';
import { loadSpeaker } from '../../electron/core/pipeline/speaker.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { work: { type: 'string', default: 'native-models/work' }, limit: { type: 'string', default: '100' }, speaker: { type: 'string' } },
});
const direct = values.speaker !== undefined; // a speaker of groups is fed the groups; today's, representatives
if (positionals.length !== (direct ? 0 : 1)) throw new Error('usage: resynth_units.mts MAPS_DIR | --speaker SDIR [--work DIR] [--limit N]');
const maps = new Map<number, { label: number[]; representative: number[] }>();
for (const f of direct ? [] : (await readdir(positionals[0])).filter((f) => /^units-\d+\.json$/.test(f))) {
  maps.set(Number(f.slice(6, -5)), JSON.parse(await readFile(path.join(positionals[0], f), 'utf8')));
}
const { sentences, unitsById } = await heldOutSentences(values.work, 'test');
const chosen = sentences.slice(0, Number(values.limit));
const speaker = await loadSpeaker(values.speaker ?? path.join(DEFAULT_VOICE_DIR, 'speaker'));
// A speaker of fewer units than the codebook needs its groups (an older export may lack them).
if (direct && !speaker.manifest.unit_groups && Math.max(...chosen.flatMap((s) => unitsById.get(s.id)!)) >= speaker.unitCount) {
  throw new Error(
    `${values.speaker}: a speaker of ${speaker.unitCount} units whose speaker.json lists no unit_groups (export it again: python3 -m spear_voice.speaker.export)`,
  );
}
const runs: Array<[number, (u: readonly number[]) => number[]]> = direct
  ? [[speaker.unitCount, (u) => speaker.fromCodebook(u)]]
  : [...maps].sort((a, b) => b[0] - a[0]).map(([k, { label, representative }]) => [k, (u) => u.map((x) => representative[label[x]])]);
const scratch = await mkdtemp(path.join(tmpdir(), 'spear-coarse-'));
try {
  for (const [k, toSpeaker] of runs) {
    const hypotheses = await mapLimit(chosen, 2, async (s) => {
      const units = toSpeaker(unitsById.get(s.id)!);
      const wav = path.join(scratch, `${s.id}.${k}.wav`);
      await writeFileAtomic(wav, encodeWav(await speaker.speak(units), speaker.sampleRate));
      return { reference: s.text, hypothesis: await transcribe(wav) };
    });
    const w = corpusWer(hypotheses);
    console.log(
      JSON.stringify({
        units: k,
        speaker: direct ? values.speaker : "today's, representatives",
        sentences: chosen.length,
        wer_percent: Number(w.wer.toFixed(1)),
        errors: w.errors,
        words: w.words,
      }),
    );
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
