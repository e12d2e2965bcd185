/**
 * Acceptance per depth of drafters on the shipped voice, with the engine: each strategy decodes the 24
 * bench texts (the pipeline's prompts and unit caps, calibration's calibrationPrompts) greedily, as one
 * batch, at one gamma. Acceptance at depth d is the share of steps that accepted at least d drafts among
 * those that accepted at least d − 1; τ is the units per target call.
 *
 *   node --import tsx native-models/research/acceptance_depth.mts [--voice native-models/voice]
 *        [--strategies medusa,eagle] [--gamma 4] [--json FILE]
 *
 * Greedy drafts depend only on the prefix, so how far a step's drafts go before the first rejection is
 * the same at every gamma up to the one run (calibration relies on the same fact).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { calibrationPrompts } from '../../electron/core/calibration/measure.ts';
import { decode, STRATEGIES, type Strategy } from '../../electron/core/engine/decode.ts';
import { loadModel } from '../../electron/core/engine/model.ts';

const { values: args } = parseArgs({
  options: {
    voice: { type: 'string', default: 'native-models/voice' },
    strategies: { type: 'string', default: 'medusa,eagle' },
    gamma: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const strategies = args.strategies.split(',') as Strategy[];
for (const s of strategies) if (!(STRATEGIES as readonly string[]).includes(s) || s === 'ar') throw new Error(`--strategies: ${s} is not a drafting strategy`);
const gamma = Number(args.gamma);
const model = await loadModel(args.voice);
const input = await calibrationPrompts(model);

const rows = [];
for (const strategy of strategies) {
  const reached = new Array<number>(gamma + 1).fill(0);
  const result = await decode(model, input.prompts, {
    strategy,
    gamma,
    maxNewTokens: input.maxNewTokens,
    onEvent: (e) => {
      if (e.type === 'step') for (let k = 0; k <= e.accepted; k++) reached[k]++;
    },
  });
  const byDepth = reached.slice(1).map((n, i) => n / reached[i]);
  const tau = result.summary.tokensPerTargetCall;
  rows.push({ strategy, gamma, steps: reached[0], units: result.summary.tokens, acceptanceByDepth: byDepth, tau, alpha: result.summary.acceptanceRate });
  console.log(
    `${strategy.padEnd(10)} γ ${gamma}: by depth ${byDepth.map((a) => a.toFixed(3)).join(' / ')}, τ ${tau.toFixed(2)}, α ${result.summary.acceptanceRate.toFixed(3)}`,
  );
}
if (args.json) writeFileSync(args.json, `${JSON.stringify({ voice: args.voice, texts: input.source, sentences: input.prompts.length, rows }, null, 2)}\n`);
await model.release();
