/**
 * Engine overhead benchmark (issue: "Performance"): a random-weight model of realistic size, greedy,
 * with an oracle drafter that always proposes the target's own next tokens (acceptance 1, zero draft
 * cost), so what remains is the target's verification cost and the engine's own overhead.
 *
 *   python3 native-models/make_fixtures.py --bench tests/fixtures/bench   # once
 *   npm run bench:engine [-- --tokens 200 --repeats 3 --threads 1]
 *
 * Prints a table and, with --json, one JSON object.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decode, decodeWithDrafter, type DecodeResult } from '../../electron/core/engine/decode.ts';
import type { Drafter } from '../../electron/core/engine/drafters/types.ts';
import { loadModel, type LoadedModel } from '../../electron/core/engine/model.ts';
import { pendingPosition, type SlotTable } from '../../electron/core/engine/rows.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'tests/fixtures/bench' },
    tokens: { type: 'string', default: '200' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
if (!existsSync(`${args.model}/manifest.json`)) {
  console.error(`${args.model}: no model; make it with: /usr/bin/python3 native-models/make_fixtures.py --bench ${args.model}`);
  process.exit(2);
}
const TOKENS = Number(args.tokens);
const REPEATS = Number(args.repeats);

/** Proposes each row's known greedy continuation: always accepted, costs nothing. */
class OracleDrafter implements Drafter {
  readonly caches = [];
  constructor(private readonly continuations: number[][]) {}
  async propose(table: SlotTable, gamma: number) {
    const tokens = table.active.map((row) => {
      const next = pendingPosition(row) + 1 - row.promptLength;
      return Array.from({ length: gamma }, (_, i) => this.continuations[row.id][next + i] ?? 0);
    });
    return { tokens, q: null };
  }
  commit(): void {}
}

interface Measure {
  label: string;
  batch: number;
  tokens: number;
  ms: number;
  ortMs: number;
  ortRuns: number;
  targetSteps: number;
}

function ortTotals(model: LoadedModel): { ms: number; runs: number } {
  let ms = 0;
  let runs = 0;
  for (const g of Object.values(model.graphs)) {
    ms += g.runMs;
    runs += g.runs;
  }
  return { ms, runs };
}

async function measure(model: LoadedModel, label: string, batch: number, go: () => Promise<DecodeResult>): Promise<Measure> {
  const before = ortTotals(model);
  const result = await go();
  const after = ortTotals(model);
  return {
    label,
    batch,
    tokens: result.summary.tokens,
    ms: result.ms,
    ortMs: after.ms - before.ms,
    ortRuns: after.runs - before.runs,
    targetSteps: result.summary.batchSteps,
  };
}

const model = await loadModel(args.model, { threads: Number(args.threads) });
const prompt = [1, 17, 42, 99, 7, 300, 12, 2];
const prompts8 = Array.from({ length: 8 }, (_, r) => prompt.map((t, i) => (i > 0 && i < prompt.length - 1 ? ((t + 13 * r) % 1000) + 4 : t)));
const common = { maxNewTokens: TOKENS, stopToken: null } as const;
const reference = await decode(model, prompts8, { strategy: 'ar', ...common });
const continuations = reference.rows.map((r) => r.tokens);
const oracle = (gamma: number, prompts: number[][], ids: number[]) =>
  decodeWithDrafter(model, prompts, { gamma, ...common }, () => new OracleDrafter(ids.map((i) => continuations[i])));

const plans: Array<{ label: string; batch: number; go: () => Promise<DecodeResult> }> = [
  { label: 'ar', batch: 1, go: () => decode(model, [prompts8[0]], { strategy: 'ar', ...common }) },
  ...[1, 2, 4, 8].map((gamma) => ({ label: `oracle γ=${gamma}`, batch: 1, go: () => oracle(gamma, [prompts8[0]], [0]) })),
  { label: 'ar', batch: 8, go: () => decode(model, prompts8, { strategy: 'ar', ...common }) },
  { label: 'oracle γ=4', batch: 8, go: () => oracle(4, prompts8, [0, 1, 2, 3, 4, 5, 6, 7]) },
  { label: 'early-exit γ=4', batch: 1, go: () => decode(model, [prompts8[0]], { strategy: 'early-exit', gamma: 4, ...common }) },
];
// Separate batch-1 runs of the 8 prompts, for the batched-throughput comparison.
const separately = async (label: string, one: (r: number) => Promise<DecodeResult>): Promise<Measure> => {
  const parts: Measure[] = [];
  for (let r = 0; r < 8; r++) parts.push(await measure(model, label, 1, () => one(r)));
  return parts.reduce((a, b) => ({
    ...a,
    tokens: a.tokens + b.tokens,
    ms: a.ms + b.ms,
    ortMs: a.ortMs + b.ortMs,
    ortRuns: a.ortRuns + b.ortRuns,
    targetSteps: a.targetSteps + b.targetSteps,
  }));
};

const samples = new Map<string, Measure[]>();
const record = (m: Measure): void => {
  const key = `${m.label}|${m.batch}`;
  samples.set(key, [...(samples.get(key) ?? []), m]);
};
for (let rep = 0; rep < REPEATS + 1; rep++) {
  // Interleave every configuration in each repeat so drift hits all alike; repeat 0 warms up.
  const round: Measure[] = [];
  for (const plan of plans) round.push(await measure(model, plan.label, plan.batch, plan.go));
  round.push(await separately('ar ×8 separate', (r) => decode(model, [prompts8[r]], { strategy: 'ar', ...common })));
  round.push(await separately('oracle γ=4 ×8 separate', (r) => oracle(4, [prompts8[r]], [r])));
  if (rep > 0) round.forEach(record);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [...samples.entries()].map(([key, ms]) => {
  const m = ms[0];
  const wall = median(ms.map((x) => x.ms));
  const ort = median(ms.map((x) => x.ortMs));
  return {
    config: key.replace('|', ' batch '),
    tokens: m.tokens,
    tokensPerSecond: m.tokens / (wall / 1000),
    msPerTargetStep: wall / m.targetSteps,
    ortMsPerRun: ort / m.ortRuns,
    overheadUsPerToken: ((wall - ort) / m.tokens) * 1000,
    overheadShare: (wall - ort) / wall,
  };
});
const find = (config: string) => rows.find((r) => r.config === config)!;
const ar1 = find('ar batch 1');
const derived = {
  verifyStepOverArStep: Object.fromEntries([1, 2, 4, 8].map((g) => [`gamma${g}`, find(`oracle γ=${g} batch 1`).msPerTargetStep / ar1.msPerTargetStep])),
  oracleSpeedupGamma4: find('oracle γ=4 batch 1').tokensPerSecond / ar1.tokensPerSecond,
  batch8OverSeparateAr: find('ar batch 8').tokensPerSecond / find('ar ×8 separate batch 1').tokensPerSecond,
  batch8OverSeparateOracle4: find('oracle γ=4 batch 8').tokensPerSecond / find('oracle γ=4 ×8 separate batch 1').tokensPerSecond,
};
if (args.json) {
  console.log(JSON.stringify({ model: args.model, threads: Number(args.threads), tokens: TOKENS, repeats: REPEATS, rows, derived }, null, 2));
} else {
  console.log(`model ${args.model}, ${TOKENS} new tokens per row, median of ${REPEATS}, intra-op threads ${args.threads}`);
  console.table(
    rows.map((r) => ({
      ...r,
      tokensPerSecond: r.tokensPerSecond.toFixed(0),
      msPerTargetStep: r.msPerTargetStep.toFixed(3),
      ortMsPerRun: r.ortMsPerRun.toFixed(3),
      overheadUsPerToken: r.overheadUsPerToken.toFixed(1),
      overheadShare: (100 * r.overheadShare).toFixed(1) + '%',
    })),
  );
  console.log(derived);
}
await model.release();
