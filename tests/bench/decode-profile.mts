/**
 * Where a decode's wall time goes, per strategy: time inside each graph's session runs (count and µs
 * per run) against the engine's own work outside them, on the shipped voice and the bench's sentences,
 * batch 1, greedy, decoding only (no speaker). One warm-up pass, then one measured pass per config.
 *
 *   node --import tsx tests/bench/decode-profile.mts [--voice native-models/voice] [--configs ar:1,eagle:3,draft:3] [--temperature 0]
 *
 * A config `eagle:4:steps` (or `draft:4:steps`) drafts with one run of the drafter's graph per token
 * even where the voice has a chain for that gamma (DecodeOptions.chains = false), to compare the two in
 * one process. `--temperature T` samples (seed 0 per sentence; with temperature alone, sampled chains draft).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decode, type Strategy } from '../../electron/core/engine/decode.ts';
import { openVoice } from '../../electron/core/pipeline/voice.ts';
import { prepareDocument } from '../../electron/core/text/index.ts';

const { values: args } = parseArgs({
  options: {
    voice: { type: 'string', default: 'native-models/voice' },
    configs: { type: 'string', default: 'ar:1,eagle:3,eagle:4,draft:3,early-exit:3' },
    texts: { type: 'string', default: 'electron/core/eval/bench-texts.txt' },
    temperature: { type: 'string', default: '0' },
  },
});
const temperature = Number(args.temperature);
const configs = args.configs.split(',').map((s) => {
  const [strategy, gamma, mode] = s.split(':');
  return { strategy: strategy as Strategy, gamma: Number(gamma ?? 1), chains: mode !== 'steps', label: s };
});
const voice = await openVoice(args.voice, {});
const sentences = prepareDocument(readFileSync(args.texts, 'utf8'), { maxPhonemes: voice.maxPhonemes }).filter((s) => s.phonemeIds.length > 0);
const prompts = sentences.map((s) => voice.prompt(s.phonemeIds.slice(0, voice.maxPhonemes)));
const caps = sentences.map((s) => voice.maxUnits(s.phonemeIds.length));
// Chains' sessions are created on first use: list the graphs when a config starts (after the warm-up pass
// every chain the measured pass uses exists).
const allGraphs = () => [
  ...Object.entries(voice.decoder.graphs),
  ...Object.values(voice.decoder.chains).flatMap((set) => set.opened.map((g) => [g.entry.file.replace('.onnx', ''), g] as const)),
];

for (const measured of [false, true]) {
  for (const { strategy, gamma, chains, label } of configs) {
    const graphs = allGraphs();
    for (const [, g] of graphs) Object.assign(g!, { runs: 0, runMs: 0 });
    let ms = 0;
    let tokens = 0;
    let drafted = 0;
    let accepted = 0;
    for (let i = 0; i < prompts.length; i++) {
      const r = await decode(voice.decoder, [prompts[i]], {
        strategy,
        gamma,
        chains,
        temperature,
        seed: 0,
        maxNewTokens: caps[i],
        onEvent: (e) => {
          if (e.type !== 'step') return;
          drafted += e.drafted.length;
          accepted += e.accepted;
        },
      });
      ms += r.ms;
      tokens += r.rows[0].tokens.length + 1;
    }
    if (!measured) continue;
    const inRuns = graphs.reduce((a, [, g]) => a + g!.runMs, 0);
    const parts = graphs.filter(([, g]) => g!.runs > 0).map(([role, g]) => `${role} ${g!.runs} runs × ${((1000 * g!.runMs) / g!.runs).toFixed(0)} µs`);
    const share = strategy === 'ar' ? '' : ` drafts accepted ${((100 * accepted) / Math.max(1, drafted)).toFixed(1)} %;`;
    console.log(
      `${label}: ${tokens} units in ${ms.toFixed(0)} ms = ${((1000 * tokens) / ms).toFixed(0)} units/s;${share} ` +
        `in session runs ${inRuns.toFixed(0)} ms, engine ${(ms - inRuns).toFixed(0)} ms | ${parts.join('; ')}`,
    );
  }
}
await voice.release();
