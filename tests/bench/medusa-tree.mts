/**
 * Medusa's chain against its trees (electron/core/engine/tree.ts) on one voice, in one process: the bench
 * texts decoded greedily by ar, medusa at each gamma and medusa with each tree, every configuration once
 * per round in turn (the order reversed every other round), after one warm-up round. Prints units/s by
 * the wall clock and by the process's CPU time (medians of the rounds, and over ar's), α, τ, and
 * whether every configuration emitted ar's units.
 *
 *   node --import tsx tests/bench/medusa-tree.mts [--voice native-models/voice] [--gammas 2,3,4] [--trees 2/3,1/2,2,1] [--rounds 3]
 *
 * --trees: trees separated by '/', each the candidates per depth (2,1) or its nodes in JSON
 * ([[0],[1],[0,0]]), as DecodeOptions.tree takes them.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decode, type DecodeOptions } from '../../electron/core/engine/decode.ts';
import { openVoice } from '../../electron/core/pipeline/voice.ts';
import { prepareDocument } from '../../electron/core/text/index.ts';

const { values: args } = parseArgs({
  options: {
    voice: { type: 'string', default: 'native-models/voice' },
    gammas: { type: 'string', default: '2,3,4' },
    trees: { type: 'string', default: '2/3/2,1/3,1/2,2,1/3,2,1' },
    rounds: { type: 'string', default: '3' },
    texts: { type: 'string', default: 'electron/core/eval/bench-texts.txt' },
  },
});
const rounds = Number(args.rounds);
const configs: { label: string; options: DecodeOptions }[] = [
  { label: 'ar', options: { strategy: 'ar' } },
  ...args.gammas.split(',').map((g) => ({ label: `medusa γ ${g}`, options: { strategy: 'medusa' as const, gamma: Number(g) } })),
  ...args.trees.split('/').map((t) => ({
    label: `medusa ${t.startsWith('[') ? t : `[${t}]`}`,
    options: { strategy: 'medusa' as const, tree: t.startsWith('[') ? (JSON.parse(t) as number[][]) : t.split(',').map(Number) },
  })),
];
const voice = await openVoice(args.voice, {});
const sentences = prepareDocument(readFileSync(args.texts, 'utf8'), { maxPhonemes: voice.maxPhonemes }).filter((s) => s.phonemeIds.length > 0);
const prompts = sentences.map((s) => voice.prompt(s.phonemeIds.slice(0, voice.maxPhonemes)));
const caps = sentences.map((s) => voice.maxUnits(s.phonemeIds.length));

interface Samples {
  wall: number[];
  cpu: number[];
  units: number[][];
  alpha: number;
  tau: number;
}
const results = new Map<string, Samples>(configs.map((c) => [c.label, { wall: [], cpu: [], units: [], alpha: 0, tau: 0 }]));
for (let round = -1; round < rounds; round++) {
  for (const { label, options } of round % 2 === 0 ? configs : [...configs].reverse()) {
    const samples = results.get(label)!;
    let ms = 0;
    let units = 0;
    // α as stats.ts estimates it (accepted over accepted + rejections), τ as units emitted per target call.
    let accepted = 0;
    let rejections = 0;
    let calls = 0;
    let tokens = 0;
    const onEvent: DecodeOptions['onEvent'] = (e) => {
      if (e.type !== 'step') return;
      accepted += e.accepted;
      if (e.accepted < e.drafted.length) rejections++;
      calls++;
      tokens += e.emitted;
    };
    const emitted: number[][] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < prompts.length; i++) {
      const r = await decode(voice.decoder, [prompts[i]], { ...options, maxNewTokens: caps[i], onEvent });
      ms += r.ms;
      for (const row of r.rows) {
        units += row.tokens.length + 1;
        emitted.push(row.tokens);
      }
    }
    const cpu = process.cpuUsage(cpu0);
    if (round < 0) {
      Object.assign(samples, { units: emitted, alpha: accepted / (accepted + rejections || 1), tau: tokens / calls });
      continue;
    }
    samples.wall.push((1000 * units) / ms);
    samples.cpu.push((1e6 * units) / (cpu.user + cpu.system));
  }
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ar = results.get('ar')!;
console.log(`${args.voice}: ${prompts.length} sentences, batch 1, greedy, ${rounds} rounds; units/s wall | CPU, medians (over ar)`);
for (const { label } of configs) {
  const s = results.get(label)!;
  const same = JSON.stringify(s.units) === JSON.stringify(ar.units);
  console.log(
    `${label.padEnd(30)} ${median(s.wall).toFixed(0)} (${(median(s.wall) / median(ar.wall)).toFixed(2)}×) | ${median(s.cpu).toFixed(0)} (${(median(s.cpu) / median(ar.cpu)).toFixed(2)}×)` +
      `   α ${s.alpha.toFixed(3)}  τ ${s.tau.toFixed(2)}   ar's units: ${same}`,
  );
}
await voice.release();
