/**
 * Where a step's time goes with K drafts (SpecTr, `drafts`): the bench texts decoded sampled, one
 * sentence at a time, for each K, interleaved round by round after a warm-up round. Per step, by the
 * process's CPU time (steadier than the wall clock on a shared machine): drafting (Drafter.propose),
 * the target's call (Target.score) and the rest (verification, copies, the engine's own work), with τ
 * and units per CPU second. Medians of the rounds.
 *
 *   node --import tsx tests/bench/spectr-profile.mts [--strategy eagle] [--gamma 4] [--drafts 1,2,3,4] [--temperature 0.8] [--rounds 3]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decode, type Strategy } from '../../electron/core/engine/decode.ts';
import { DraftModelDrafter } from '../../electron/core/engine/drafters/draft-model.ts';
import { EagleDrafter } from '../../electron/core/engine/drafters/eagle.ts';
import { EarlyExitDrafter, EarlyExitTarget } from '../../electron/core/engine/drafters/early-exit.ts';
import { LayerSkipDrafter } from '../../electron/core/engine/drafters/layer-skip.ts';
import { FullTarget } from '../../electron/core/engine/target.ts';
import { openVoice } from '../../electron/core/pipeline/voice.ts';
import { prepareDocument } from '../../electron/core/text/index.ts';

const { values: args } = parseArgs({
  options: {
    strategy: { type: 'string', default: 'eagle' },
    gamma: { type: 'string', default: '4' },
    drafts: { type: 'string', default: '1,2,3,4' },
    temperature: { type: 'string', default: '0.8' },
    rounds: { type: 'string', default: '3' },
    texts: { type: 'string', default: 'electron/core/eval/bench-texts.txt' },
  },
});
const strategy = args.strategy as Strategy;
const gamma = Number(args.gamma);
const temperature = Number(args.temperature);
const draftCounts = args.drafts.split(',').map(Number);
const voice = await openVoice('native-models/voice', {});
const sentences = prepareDocument(readFileSync(args.texts, 'utf8'), { maxPhonemes: voice.maxPhonemes }).filter((s) => s.phonemeIds.length > 0);
const prompts = sentences.map((s) => voice.prompt(s.phonemeIds.slice(0, voice.maxPhonemes)));
const caps = sentences.map((s) => voice.maxUnits(s.phonemeIds.length));

/** CPU milliseconds spent inside each wrapped method since the last reset. */
const phase = { draft: 0, score: 0 };
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function wrap(proto: object, method: string, into: keyof typeof phase): void {
  const target = proto as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const original = target[method];
  target[method] = async function (this: unknown, ...a: unknown[]) {
    const t0 = cpuMs();
    try {
      return await original.apply(this, a);
    } finally {
      phase[into] += cpuMs() - t0;
    }
  };
}
for (const drafter of [EagleDrafter, DraftModelDrafter, EarlyExitDrafter, LayerSkipDrafter]) wrap(drafter.prototype, 'propose', 'draft');
for (const target of [FullTarget, EarlyExitTarget]) wrap(target.prototype, 'score', 'score');

interface Sample {
  steps: number;
  units: number;
  cpu: number;
  draft: number;
  score: number;
  tau: number;
}
const samples = new Map<number, Sample[]>(draftCounts.map((k) => [k, []]));
for (let round = -1; round < Number(args.rounds); round++) {
  const order = draftCounts.map((_, i) => draftCounts[(i + Math.max(round, 0)) % draftCounts.length]);
  for (const drafts of order) {
    phase.draft = 0;
    phase.score = 0;
    let steps = 0;
    let units = 0;
    let emitted = 0;
    const t0 = cpuMs();
    for (const [i, prompt] of prompts.entries()) {
      const r = await decode(voice.decoder, [prompt], { strategy, gamma, drafts, temperature, seed: i, maxNewTokens: caps[i] });
      steps += r.summary.targetCalls;
      units += r.rows[0].tokens.length + 1;
      emitted += r.summary.tokens;
    }
    const cpu = cpuMs() - t0;
    if (round >= 0) samples.get(drafts)!.push({ steps, units, cpu, draft: phase.draft, score: phase.score, tau: emitted / steps });
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${strategy} γ ${gamma}, temperature ${temperature}, ${prompts.length} sentences, medians of ${args.rounds} rounds (CPU time)`);
console.log('K   τ      units/CPU s   per step: draft ms   target ms   rest ms   total ms');
for (const [drafts, ss] of samples) {
  const per = (f: (s: Sample) => number): number => median(ss.map((s) => f(s) / s.steps));
  const draft = per((s) => s.draft);
  const score = per((s) => s.score);
  const total = per((s) => s.cpu);
  console.log(
    `${String(drafts).padEnd(3)} ${ss[0].tau.toFixed(2).padEnd(6)} ${median(ss.map((s) => (s.units / s.cpu) * 1000))
      .toFixed(0)
      .padEnd(
        13,
      )} ${draft.toFixed(2).padStart(19)} ${score.toFixed(2).padStart(11)} ${(total - draft - score).toFixed(2).padStart(9)} ${total.toFixed(2).padStart(10)}`,
  );
}
await voice.release();
