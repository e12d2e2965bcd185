/**
 * speak()'s real-time factor for two speakers on the same units, one thread, in interleaved rounds (A, B, A, B…)
 * so that a shared machine's load falls on both alike; prints each one's median and their ratio.
 *
 *   node --import tsx native-models/research/speaker_speed.mts SPEAKER_A SPEAKER_B UNITS.jsonl [--rounds 5] [--limit 20]
 *
 * UNITS.jsonl lines are {"id": ..., "units": [...]} in the codebook both speakers read (research/highband.py writes one).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadSpeaker, type Speaker } from '../../electron/core/pipeline/speaker.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '5' }, limit: { type: 'string', default: '20' } },
});
if (positionals.length !== 3) throw new Error('usage: speaker_speed.mts SPEAKER_A SPEAKER_B UNITS.jsonl [--rounds 5] [--limit 20]');
const rows = (await readFile(positionals[2], 'utf8'))
  .split('\n')
  .filter(Boolean)
  .slice(0, Number(values.limit))
  .map((l) => (JSON.parse(l) as { units: number[] }).units);
const speakers = await Promise.all(positionals.slice(0, 2).map((dir) => loadSpeaker(dir, { threads: 1 })));

/** Seconds of speak() per second of audio over all rows. */
async function rtf(speaker: Speaker): Promise<number> {
  let seconds = 0;
  let audio = 0;
  for (const units of rows) {
    const t = performance.now();
    const samples = await speaker.speak(speaker.fromCodebook(units));
    seconds += (performance.now() - t) / 1000;
    audio += samples.length / speaker.sampleRate;
  }
  return seconds / audio;
}

for (const s of speakers) await s.speak(rows[0].slice(0, 10)); // warm-up: ONNX Runtime's first run
const results: number[][] = [[], []];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [i, s] of speakers.entries()) results[i].push(await rtf(s));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [a, b] = results.map(median);
const audioSeconds = rows.reduce((n, u) => n + u.length, 0) / speakers[0].unitRate;
console.log(
  JSON.stringify({
    sentences: rows.length,
    audio_s: audioSeconds,
    rounds: Number(values.rounds),
    a: { speaker: positionals[0], sample_rate: speakers[0].sampleRate, rtf: a },
    b: { speaker: positionals[1], sample_rate: speakers[1].sampleRate, rtf: b },
    b_over_a: b / a,
  }),
);
for (const s of speakers) await s.release();
