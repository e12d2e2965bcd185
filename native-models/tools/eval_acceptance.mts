/**
 * Acceptance of each drafter of the exported voice, measured with the engine on the test sentences.
 *
 *   node --import tsx native-models/tools/eval_acceptance.mts [--voice native-models/voice] [--limit 40]
 *        [--gammas 1,2,3,4,5,6,7,8] [--temperature 0.8] [--speed-limit 4] [--threads 1]
 *
 * For each strategy (early-exit, draft, eagle), gamma and temperature (0 and the sampled one) it
 * decodes the prompts [bos] phonemes [sep] of the first `limit` test sentences (sorted by id, never
 * trained on) as one batch, each row with its own seed and the voice's stop rule, and records
 * α (acceptanceRate) and τ (meanAcceptedTokens). Then, at batch 1 on `speed-limit` sentences, tokens/s of
 * `ar` and of every configuration, so the table shows the measured speed-up, not only the theoretical one.
 * Writes native-models/work/reports/acceptance.{json,md}, with the trainer's validation losses from the
 * manifest.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { decode, type Strategy } from '../../electron/core/engine/decode.ts';
import { loadModel, type LoadedModel } from '../../electron/core/engine/model.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    voice: { type: 'string', default: path.join(ROOT, 'native-models/voice') },
    corpus: { type: 'string', default: path.join(ROOT, 'native-models/work/corpus/test.jsonl') },
    out: { type: 'string', default: path.join(ROOT, 'native-models/work/reports') },
    limit: { type: 'string', default: '40' },
    'speed-limit': { type: 'string', default: '4' },
    gammas: { type: 'string', default: '1,2,3,4,5,6,7,8' },
    temperature: { type: 'string', default: '0.8' },
    threads: { type: 'string', default: '1' },
  },
});

const STRATEGIES: Strategy[] = ['early-exit', 'draft', 'eagle'];
const gammas = args.gammas.split(',').map(Number);
const temperatures = [0, Number(args.temperature)];

/** The manifest's voice section (written by `python3 -m spear_voice.train_t2s export`). */
interface VoiceSection {
  max_units: { per_phoneme: number; base: number };
  unit_rate?: number;
}

interface Row {
  strategy: Strategy | 'ar';
  gamma: number;
  temperature: number;
  /** Per-token acceptance rate α. */
  alpha: number;
  /** Mean tokens per target call τ. */
  tau: number;
  tokens: number;
  /** Batch-1 tokens/s on the speed subset (null where not measured). */
  tokensPerSecond: number | null;
  theoreticalSpeedup: number;
}

const model: LoadedModel = await loadModel(args.voice, { threads: Number(args.threads) });
const manifest = model.manifest as LoadedModel['manifest'] & { voice?: VoiceSection; training?: { validation?: Record<string, number> } };
const { vocab, context } = manifest;
if (!vocab.phonemes || !manifest.voice) throw new Error(`${args.voice}/manifest.json: not a voice (needs vocab.phonemes and a "voice" section)`);
const phonemeOffset = vocab.phonemes.offset;
const rule = manifest.voice.max_units;

const sentences = readFileSync(args.corpus, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { id: string; phonemes: number[] })
  .sort((a, b) => a.id.localeCompare(b.id))
  .filter((s) => s.phonemes.length > 0)
  .slice(0, Number(args.limit));
const prompts = sentences.map((s) => [vocab.special.bos, ...s.phonemes.map((p) => p + phonemeOffset), vocab.special.sep]);
// The stop rule of electron/core/pipeline/voice.ts: ceil(per_phoneme × phonemes + base) new tokens, within the context.
const maxNewTokens = sentences.map((s) => Math.max(1, Math.min(Math.ceil(rule.per_phoneme * s.phonemes.length + rule.base), context - s.phonemes.length - 3)));
const seeds = sentences.map((_, i) => i);
const speedRows = Math.min(Number(args['speed-limit']), sentences.length);

async function speed(strategy: Strategy, gamma: number, temperature: number): Promise<number> {
  let tokens = 0;
  let ms = 0;
  for (let i = 0; i < speedRows; i++) {
    const r = await decode(model, [prompts[i]], { strategy, gamma, temperature, maxNewTokens: maxNewTokens[i], seeds: [i] });
    tokens += r.summary.tokens;
    ms += r.ms;
  }
  return tokens / (ms / 1000);
}

const rows: Row[] = [];
const started = performance.now();
await speed('ar', 1, 0); // warm-up: first runs allocate and JIT
for (const temperature of temperatures) {
  const ar = await speed('ar', 1, temperature);
  rows.push({ strategy: 'ar', gamma: 0, temperature, alpha: 0, tau: 1, tokens: 0, tokensPerSecond: ar, theoreticalSpeedup: 1 });
  for (const strategy of STRATEGIES) {
    for (const gamma of gammas) {
      process.stderr.write(`\racceptance: ${strategy} γ=${gamma} T=${temperature}        `);
      const r = await decode(model, prompts, { strategy, gamma, temperature, maxNewTokens, seeds });
      const s = r.summary;
      rows.push({
        strategy,
        gamma,
        temperature,
        alpha: s.acceptanceRate,
        tau: s.meanAcceptedTokens,
        tokens: s.tokens,
        tokensPerSecond: speedRows > 0 ? await speed(strategy, gamma, temperature) : null,
        theoreticalSpeedup: s.theoreticalSpeedup,
      });
    }
  }
}
process.stderr.write('\r\x1b[K');
await model.release();

const validation = manifest.training?.validation ?? null;
const report = {
  voice: path.relative(ROOT, path.resolve(args.voice)),
  name: manifest.name,
  sentences: sentences.length,
  speedSentences: speedRows,
  threads: Number(args.threads),
  unitRate: manifest.voice.unit_rate ?? null,
  seconds: (performance.now() - started) / 1000,
  rows,
  validation,
};
mkdirSync(args.out, { recursive: true });
writeFileSync(path.join(args.out, 'acceptance.json'), JSON.stringify(report, null, 2) + '\n');

const f = (x: number, d: number): string => x.toFixed(d);
const table = (temperature: number): string[] => {
  const ar = rows.find((r) => r.strategy === 'ar' && r.temperature === temperature)!;
  const lines = [
    `AR (batch 1): ${f(ar.tokensPerSecond ?? 0, 0)} tokens/s.`,
    '',
    `| γ | ${STRATEGIES.map((s) => `${s} α | τ | × AR`).join(' | ')} |`,
    `| --- |${' --- | --- | --- |'.repeat(STRATEGIES.length)}`,
  ];
  for (const gamma of gammas) {
    const cells = STRATEGIES.map((strategy) => {
      const r = rows.find((x) => x.strategy === strategy && x.gamma === gamma && x.temperature === temperature)!;
      const speedup = r.tokensPerSecond !== null && ar.tokensPerSecond ? f(r.tokensPerSecond / ar.tokensPerSecond, 2) : '–';
      return `${f(r.alpha, 3)} | ${f(r.tau, 2)} | ${speedup}`;
    });
    lines.push(`| ${gamma} | ${cells.join(' | ')} |`);
  }
  return lines;
};
const md = [
  `# Acceptance per drafter: ${report.name}`,
  '',
  `\`node --import tsx native-models/tools/eval_acceptance.mts\`; voice \`${report.voice}\`; ${sentences.length} test sentences ` +
    `(never trained on) decoded as one batch, one seed per row; α = acceptance rate, τ = mean tokens per target call; ` +
    `× AR = measured tokens/s over AR's at batch 1 on ${speedRows} sentences, ${report.threads} ORT thread(s).`,
  '',
  ...temperatures.flatMap((t) => [`## Temperature ${t}${t === 0 ? ' (greedy)' : ''}`, '', ...table(t), '']),
  '## Validation (trainer, val split)',
  '',
  validation
    ? Object.entries(validation)
        .map(([k, x]) => `- ${k}: ${typeof x === 'number' ? x : JSON.stringify(x)}`)
        .join('\n')
    : 'not recorded in the manifest',
  '',
].join('\n');
writeFileSync(path.join(args.out, 'acceptance.md'), md);
process.stdout.write(md);
