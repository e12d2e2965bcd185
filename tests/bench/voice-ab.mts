/**
 * Two voice folders decoding the same sentences in one process, interleaved round by round (A then B,
 * then B then A), so other processes' load hits both alike: units/s by the wall clock and by the
 * process's CPU time, medians of the rounds, each round's own B/A, and whether both emitted the same
 * units. Decoding only (no speaker), greedy, after one warm-up round.
 *
 *   node --import tsx tests/bench/voice-ab.mts --a /path/to/voice-before --b native-models/voice [--rounds 3] [--configs ar:0,eagle:4] [--batch 1]
 *   node --import tsx tests/bench/voice-ab.mts --a native-models/voice#float32 --b native-models/voice   # a voice's two targets
 *   node --import tsx tests/bench/voice-ab.mts --a native-models/voice#float32 --b native-models/voice --batch 8,1   # A 8 at a time, B one
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decode, type Strategy } from '../../electron/core/engine/decode.ts';
import { openVoice } from '../../electron/core/pipeline/voice.ts';
import { prepareDocument } from '../../electron/core/text/index.ts';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: 'native-models/voice' },
    rounds: { type: 'string', default: '3' },
    configs: { type: 'string', default: 'ar:0,eagle:3,eagle:4,eagle:5' },
    batch: { type: 'string', default: '1' },
    texts: { type: 'string', default: 'electron/core/eval/bench-texts.txt' },
  },
});
if (!args.a) throw new Error('--a DIR is required (the voice to compare native-models/voice with)');
const rounds = Number(args.rounds);
// --batch N, or A,B: A's batch and B's (a target that calls one row at a time decodes best one sentence at a time).
const batches = args.batch.split(',').map(Number);
const batchOf = (k: number): number => batches[k] ?? batches[0];
const configs = args.configs.split(',').map((s) => {
  const [strategy, gamma] = s.split(':');
  return { strategy: strategy as Strategy, gamma: Number(gamma ?? 0), label: s };
});
// DIR#NAME opens the voice with its target build NAME (the manifest's "targets").
const open = (spec: string) => openVoice(spec.split('#')[0], { target: spec.split('#')[1] });
const voices = [await open(args.a), await open(args.b)];
const sentences = prepareDocument(readFileSync(args.texts, 'utf8'), { maxPhonemes: voices[0].maxPhonemes }).filter((s) => s.phonemeIds.length > 0);
const prompts = sentences.map((s) => voices[0].prompt(s.phonemeIds.slice(0, voices[0].maxPhonemes)));
const caps = sentences.map((s) => voices[0].maxUnits(s.phonemeIds.length));

interface Samples {
  wall: number[];
  cpu: number[];
  units: number[][];
}
const results = new Map<string, Samples[]>();
for (let round = -1; round < rounds; round++) {
  for (const { strategy, gamma, label } of configs) {
    const samples = results.get(label) ?? [
      { wall: [], cpu: [], units: [] },
      { wall: [], cpu: [], units: [] },
    ];
    results.set(label, samples);
    for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) {
      let ms = 0;
      let units = 0;
      const emitted: number[][] = [];
      const cpu0 = process.cpuUsage();
      const batch = batchOf(k);
      for (let i = 0; i < prompts.length; i += batch) {
        const r = await decode(voices[k].decoder, prompts.slice(i, i + batch), { strategy, gamma: gamma || undefined, maxNewTokens: caps.slice(i, i + batch) });
        ms += r.ms;
        for (const row of r.rows) {
          units += row.tokens.length + 1;
          emitted.push(row.tokens);
        }
      }
      const cpu = process.cpuUsage(cpu0);
      if (round < 0) {
        samples[k].units = emitted;
        continue;
      }
      samples[k].wall.push((1000 * units) / ms);
      samples[k].cpu.push((1e6 * units) / (cpu.user + cpu.system));
    }
  }
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`A ${args.a}, B ${args.b}: ${prompts.length} sentences, batch ${batches.join(' | ')}, greedy, ${rounds} rounds; units/s wall | CPU, medians`);
for (const { label } of configs) {
  const [a, b] = results.get(label)!;
  const same = JSON.stringify(a.units) === JSON.stringify(b.units);
  const perRound = a.wall.map((x, i) => (b.wall[i] / x).toFixed(2)).join(' ');
  console.log(
    `${label.padEnd(11)} A ${median(a.wall).toFixed(0)} | ${median(a.cpu).toFixed(0)}   B ${median(b.wall).toFixed(0)} | ${median(b.cpu).toFixed(0)}   ` +
      `B/A ${(median(b.wall) / median(a.wall)).toFixed(2)} | ${(median(b.cpu) / median(a.cpu)).toFixed(2)} (rounds ${perRound}); same units: ${same}`,
  );
}
for (const v of voices) await v.release();
