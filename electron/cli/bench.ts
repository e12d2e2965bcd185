/**
 * `spear bench`: in one process, on the same texts, measures ar and each strategy and gamma through
 * the whole pipeline, interleaving repeats (with a discarded warm-up round) so drift hits all alike.
 */
import { readFile } from 'node:fs/promises';
import { loadCalibration } from '../core/calibration/calibrate.ts';
import { CostTable, predict } from '../core/calibration/cost-model.ts';
import { PROVIDERS, type Provider } from '../core/engine/model.ts';
import { calibrationLine } from '../core/calibration/defaults.ts';
import { configDir, type Calibration } from '../core/calibration/store.ts';
import { AUTO_MAX_GAMMA, DEFAULT_DRAFT_CONFIDENCE, gammaLimit, STRATEGIES, STRATEGY_GRAPHS, type Strategy } from '../core/engine/decode.ts';
import { treeDepth, type TreeSpec } from '../core/engine/tree.ts';
import { defaultBatchSize, synthesize } from '../core/pipeline/synthesize.ts';
import { openVoice } from '../core/pipeline/voice.ts';
import { adaptiveArgs, checkDrafts, draftsArg, gammaArg, int, list, num, oneOf, parse, RENAMED_STRATEGIES, treeArg, UsageError, workersArg } from './args.ts';
import { readTextFile } from './input.ts';
import { BENCH_TEXTS_URL } from '../core/eval/bench-texts.ts';
import { benchCells, benchConfigs, benchKey, runInterleaved } from '../core/eval/bench.ts';
import { DEFAULT_VOICE_DIR } from '../core/voice-path.ts';

export const BENCH_HELP = `Usage: spear bench [options]

Measures decoding speed of ar and each speculative strategy and gamma on the same texts.
Decoding is timed alone: each batch is spoken after it is decoded, not beside it as in synth and the
studio, so units/s is the decoder's and RTF (all compute over audio seconds) is an upper bound.
Each sentence is read once: the reading check's re-readings (synth --rereadings) are off, so every
strategy decodes the same units and only its speed differs. The speedup is the median units/s over ar's;
beside it, the lowest and highest of the rounds' own speedups (each against ar in the same round).
Where 'spear calibrate' has measured this machine, each row also gives the calibration's predicted
speedup at the threads the bench ran with, and the calibrated choice is marked.

Options:
      --texts FILE         one sentence or paragraph per line (default: 24 built-in sentences)
      --strategies LIST    ar, early-exit, draft, eagle, layer-skip, medusa, prophet (default: every one
                           the voice has the graphs of; ar is always measured)
      --gammas LIST        default 1,2,3,4,5,6,8 (medusa: those up to its heads); 'auto' adds adaptive
                           gamma (e.g. 3,4,auto)
      --draft-confidence C with auto: the confidence threshold, in (0, 1) (default 0.5)
      --max-gamma N        with auto: the most drafts per step, 1-16 (default 8)
      --accept MODE        exact (default, lossless) or groups: lossy, every drafting row accepts a draft
                           in the target's unit group (its rows say "lossless": false)
      --trees LIST         medusa trees measured beside its gammas, separated by '/': each the
                           candidates per depth (2,1) or the nodes as rank paths in JSON
                           ('2,1/[[0],[1],[0,0],[0,1]]'); needs medusa among --strategies
      --drafts LIST        drafts per sentence and step, K, each 1-8 (default 1); K > 1 samples K
                           drafts and verifies them with SpecTr (needs --temperature above 0)
      --temperature T      default 0 (greedy)
      --batch N            sentences decoded together (default 1; with --workers, 8 per worker)
      --workers N|auto     threads that decode the sentences of a batch side by side, each with its
                           own copy of the decoder at one thread (default 1: none; auto: one per core,
                           at most 4)
      --repeats N          measured rounds after one warm-up round (default 3)
      --threads N          intra-op threads per ONNX session (default 1)
      --target-threads N   intra-op threads of the verifying graphs, full and rest (default: --threads)
      --voice DIR          voice directory (default: native-models/voice)
      --target NAME        which build of the voice's target decodes: int8 (its own) or float32
                           (the voice's manifest lists them; docs/engine.md#the-int8-target)
      --provider P         cpu | webgpu | cuda (falls back to CPU and says so; every row names the provider that ran)
      --json               print a JSON array of rows instead of a table
  -h, --help               this help
`;

const OPTIONS = {
  texts: { type: 'string' },
  strategies: { type: 'string' },
  gammas: { type: 'string' },
  'draft-confidence': { type: 'string' },
  'max-gamma': { type: 'string' },
  accept: { type: 'string' },
  drafts: { type: 'string' },
  trees: { type: 'string' },
  temperature: { type: 'string' },
  batch: { type: 'string' },
  repeats: { type: 'string' },
  threads: { type: 'string' },
  'target-threads': { type: 'string' },
  workers: { type: 'string' },
  voice: { type: 'string' },
  target: { type: 'string' },
  provider: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface BenchRow {
  strategy: Strategy;
  /** The gamma; for an adaptive row, the most drafts per step. */
  gamma: number;
  /** The execution provider that ran (after any fallback to CPU). */
  provider: Provider;
  /** The build of the voice's target that decoded (`--target`; the manifest's "target"), null when unnamed. */
  target: string | null;
  /** 'groups': lossy acceptance (`--accept groups`), so `lossless` is false. */
  acceptance: 'exact' | 'groups';
  /** Adaptive gamma (`--gammas auto`): drafts stop where the drafter's confidence falls below draft_confidence. */
  adaptive: boolean;
  draft_confidence: number | null;
  /** Drafts per step, measured (gamma for a fixed row). */
  mean_drafted: number;
  /** K: drafts per sentence and step, verified together by SpecTr when above 1 (1 for ar). */
  drafts: number;
  /** A medusa row's tree (`--trees`), verified in place of a chain; gamma is its depth. Null for chains. */
  tree: TreeSpec | null;
  temperature: number;
  batch: number;
  /** Decoder workers the batch was shared out to (engine/pool.ts); 1: decoded in the bench's own thread. */
  workers: number;
  sentences: number;
  tokens: number;
  seconds: number;
  tokens_per_s: number;
  /** Median tokens/s over ar's median. */
  speedup_vs_ar: number;
  /** Lowest and highest of the per-round speedups (each round's units/s over ar's in the same round). */
  speedup_min: number;
  speedup_max: number;
  acceptance_rate: number;
  /** τ, tokens emitted per target call. */
  tokens_per_target_call: number;
  /** τ under its older name, kept for scripts that read it (the same value). */
  mean_accepted_tokens: number;
  theoretical_speedup: number;
  measured_over_theoretical: number;
  cost_ratio: number;
  rtf: number;
  time_to_first_audio_ms: number;
  /** This row is the calibrated choice ('spear calibrate'), run with its threads. */
  calibrated: boolean;
  /** The calibration's predicted speedup over ar for this row at the bench's threads; null without one. */
  predicted_speedup: number | null;
  /**
   * The row's output is the target's own: token for token at temperature 0, the target's distribution
   * when sampling. False only for rows with lossy acceptance (--accept groups); the field marks rows for scripts that
   * compare them with lossy schemes.
   */
  lossless: boolean;
}

export async function benchCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, 'bench');
  if (v.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const asked = list(v.strategies, 'strategies', (s) => oneOf(s, 'strategies', STRATEGIES, RENAMED_STRATEGIES)!);
  const gammas = list(v.gammas, 'gammas', (s) => gammaArg(s, 'gammas')!) ?? [1, 2, 3, 4, 5, 6, 8];
  const adaptive = adaptiveArgs(v.gammas, v['draft-confidence'], v['max-gamma']);
  const acceptance = oneOf(v.accept, 'accept', ['exact', 'groups'] as const) ?? 'exact';
  const temperature = num(v.temperature, 'temperature', (n) => n >= 0 && n <= 10, 'a number from 0 to 10') ?? 0;
  const draftCounts = list(v.drafts, 'drafts', (s) => draftsArg(s, 'drafts')!) ?? [1];
  const trees = v.trees === undefined ? [] : v.trees.split('/').map((t) => treeArg(t, 'trees'));
  if (trees.length > 0 && !asked?.includes('medusa')) throw new UsageError('--trees: medusa drafts the trees; name it in --strategies');
  checkDrafts(draftCounts, asked ?? [], temperature);
  if (acceptance === 'groups' && draftCounts.some((k) => k > 1))
    throw new UsageError('--drafts above 1 verifies tokens with SpecTr; it cannot run with --accept groups');
  const workers = workersArg(v.workers, 'workers') ?? 1;
  const repeats = int(v.repeats, 'repeats', 1, 100) ?? 3;
  const threads = int(v.threads, 'threads', 0, 64);
  const targetThreads = int(v['target-threads'], 'target-threads', 0, 64);
  const text = v.texts ? await readTextFile(v.texts) : await readFile(BENCH_TEXTS_URL, 'utf8');
  // One line, one paragraph: the pipeline's sentence splitter does the rest.
  const document = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .join('\n\n');

  const voiceDir = v.voice ?? DEFAULT_VOICE_DIR;
  const stored = await loadCalibration(voiceDir, configDir());
  const calibration = stored.status === 'valid' ? stored.calibration : null;
  if (stored.status === 'stale' || stored.status === 'corrupt') process.stderr.write(`spear: ${stored.notice}\n`);
  // The split the bench runs (model.ts's defaults), for the calibration's predictions.
  const split = { threads: threads ?? 1, targetThreads: targetThreads ?? threads ?? 1 };
  const provider = oneOf(v.provider, 'provider', PROVIDERS);
  const voice = await openVoice(voiceDir, { provider, threads, targetThreads, target: v.target, workers });
  if (voice.provider.fallbackReason) process.stderr.write(`spear: ${voice.provider.fallbackReason}; using CPU\n`);
  const batch = int(v.batch, 'batch', 1, 256) ?? (workers > 1 ? defaultBatchSize(voice) : 1);
  const strategies = asked ?? STRATEGIES.filter((s) => STRATEGY_GRAPHS[s].every((role) => voice.decoder.graphs[role]));
  try {
    // Workers open the model before anything is timed.
    await voice.pool?.ready;
    // Medusa drafts at most its heads per step: a gamma asked for beyond them is refused, a default one left out.
    const beyond = (s: Strategy, g: number | 'auto'): boolean => g !== 'auto' && g > gammaLimit(voice.decoder, s);
    for (const s of strategies) {
      const too = gammas.filter((g) => beyond(s, g));
      if (v.gammas && too.length > 0) {
        throw new UsageError(`bench: --gammas ${too.join(',')}: ${s} drafts at most ${gammaLimit(voice.decoder, s)} tokens per step (its heads)`);
      }
    }
    const configs = [
      ...benchConfigs(strategies, gammas, draftCounts).filter((c) => !beyond(c.strategy, c.gamma)),
      ...trees.map((tree) => ({ strategy: 'medusa' as const, gamma: treeDepth(tree), tree })),
    ];
    const runs = await runInterleaved({
      configs,
      repeats,
      signal,
      onRun: (p) => {
        if (!v.json)
          process.stderr.write(
            `\rbench: round ${p.round}/${repeats} (${p.warmUp ? 'warm-up' : 'measured'}) ${p.index + 1}/${configs.length} ${benchKey(p.config)}   `,
          );
      },
      run: ({ config: c }) =>
        synthesize(
          voice,
          document,
          {
            strategy: c.strategy,
            gamma: c.gamma || 1,
            // --max-gamma caps every strategy's adaptive drafts; medusa's stop at its heads as well.
            ...(c.gamma === 'auto'
              ? { ...adaptive, ...(adaptive.maxGamma !== undefined ? { maxGamma: Math.min(adaptive.maxGamma, gammaLimit(voice.decoder, c.strategy)) } : {}) }
              : {}),
            ...(c.strategy !== 'ar' && acceptance === 'groups' ? { acceptance } : {}),
            ...((c.drafts ?? 1) > 1 ? { drafts: c.drafts } : {}),
            ...(c.tree ? { tree: c.tree } : {}),
            temperature,
            batchSize: batch,
            seed: 0,
          },
          { signal, speakWhileDecoding: false, firstSentenceAlone: false, rereadings: 0, wordTimings: false },
        ),
    });
    if (!v.json) process.stderr.write('\r\x1b[K');
    const rows: BenchRow[] = benchCells(configs, runs).map((cell) => {
      const auto = cell.gamma === 'auto';
      const gamma = cell.gamma === 'auto' ? Math.min(adaptive.maxGamma ?? AUTO_MAX_GAMMA, gammaLimit(voice.decoder, cell.strategy)) : cell.gamma;
      return {
        strategy: cell.strategy,
        gamma,
        adaptive: auto,
        draft_confidence: auto ? (adaptive.draftConfidence ?? DEFAULT_DRAFT_CONFIDENCE) : null,
        mean_drafted: cell.meanDrafted,
        drafts: cell.drafts ?? 1,
        tree: cell.tree ?? null,
        temperature,
        batch,
        workers,
        sentences: cell.sentences,
        tokens: cell.tokens,
        seconds: cell.seconds,
        tokens_per_s: cell.tokensPerSecond,
        speedup_vs_ar: cell.speedup,
        speedup_min: cell.speedupMin,
        speedup_max: cell.speedupMax,
        acceptance_rate: cell.acceptanceRate,
        tokens_per_target_call: cell.tokensPerTargetCall,
        mean_accepted_tokens: cell.tokensPerTargetCall,
        theoretical_speedup: cell.theoreticalSpeedup,
        measured_over_theoretical: cell.strategy === 'ar' ? 1 : cell.speedup / cell.theoreticalSpeedup,
        cost_ratio: cell.costRatio,
        rtf: cell.rtf,
        time_to_first_audio_ms: cell.timeToFirstAudioMs,
        // The cost model predicts chains only.
        ...calibrationFields(calibration, { strategy: cell.strategy, gamma: auto || cell.tree ? null : gamma }, split, temperature, batch),
        provider: voice.provider.used,
        target: voice.decoder.manifest.target ?? null,
        acceptance: cell.strategy === 'ar' ? 'exact' : acceptance,
        lossless: cell.strategy === 'ar' || acceptance === 'exact',
      };
    });
    if (v.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    } else {
      const accept = acceptance === 'groups' ? ', acceptance groups (lossy)' : '';
      process.stdout.write(
        `voice ${voice.dir}${voice.decoder.manifest.target ? ` (target ${voice.decoder.manifest.target})` : ''}, provider ${voice.provider.used}, ${rows[0].sentences} sentences, batch ${batch}${workers > 1 ? `, ${workers} workers` : ''}, temperature ${temperature}${accept}, median of ${repeats}\n`,
      );
      console.table(
        rows.map((r) => ({
          strategy: r.strategy,
          γ: r.adaptive ? `auto ≤${r.gamma} @${r.draft_confidence} (${r.mean_drafted.toFixed(1)})` : r.tree ? `tree ${JSON.stringify(r.tree)}` : r.gamma || '',
          ...(draftCounts.some((k) => k > 1) ? { K: r.strategy === 'ar' ? '' : r.drafts } : {}),
          'units/s': r.tokens_per_s.toFixed(0),
          speedup: r.strategy === 'ar' ? '1.00' : `${r.speedup_vs_ar.toFixed(2)} (${r.speedup_min.toFixed(2)}–${r.speedup_max.toFixed(2)})`,
          α: r.strategy === 'ar' ? '' : r.acceptance_rate.toFixed(3),
          τ: r.tokens_per_target_call.toFixed(2),
          c: r.strategy === 'ar' ? '' : r.cost_ratio.toFixed(3),
          theory: r.strategy === 'ar' ? '' : r.theoretical_speedup.toFixed(2),
          'meas/theory': r.strategy === 'ar' ? '' : r.measured_over_theoretical.toFixed(2),
          RTF: r.rtf.toFixed(3),
          'first audio ms': r.time_to_first_audio_ms.toFixed(0),
          ...(calibration ? { predicted: r.strategy === 'ar' ? '' : (r.predicted_speedup?.toFixed(2) ?? '–') } : {}),
        })),
      );
      process.stdout.write(calibrationSummary(calibration, rows) + '\n');
    }
    return 0;
  } finally {
    await voice.release();
  }
}

/**
 * A row's calibration fields. Predictions hold for greedy decoding one sentence at a time at a split
 * the calibration timed; elsewhere a row gets none.
 */
function calibrationFields(
  calibration: Calibration | null,
  config: { strategy: Strategy; gamma: number | null },
  split: { threads: number; targetThreads: number },
  temperature: number,
  batch: number,
): Pick<BenchRow, 'calibrated' | 'predicted_speedup'> {
  // The cost model predicts fixed gammas only (gamma null: an adaptive row).
  if (!calibration || temperature !== 0 || batch !== 1 || config.gamma === null) return { calibrated: false, predicted_speedup: null };
  const best = calibration.best;
  const sameSplit = split.targetThreads === best.targetThreads && (best.strategy === 'ar' || split.threads === best.threads);
  const calibrated = sameSplit && config.strategy === best.strategy && (best.strategy === 'ar' || config.gamma === best.gamma);
  const prediction = predict({ strategy: config.strategy, gamma: config.gamma, ...split }, new CostTable(calibration.costs), calibration.acceptance);
  return { calibrated, predicted_speedup: prediction?.speedup ?? null };
}

/** One line: the calibrated choice as measured here, beside the fastest row. */
function calibrationSummary(calibration: Calibration | null, rows: readonly BenchRow[]): string {
  const fastest = rows.reduce((a, r) => (r.tokens_per_s > a.tokens_per_s ? r : a));
  const best = `measured best: ${fastest.strategy === 'ar' ? 'ar' : `${fastest.strategy} γ ${fastest.adaptive ? `auto ≤${fastest.gamma}` : fastest.gamma}`} ${fastest.speedup_vs_ar.toFixed(2)}×`;
  if (!calibration) return `not calibrated for this machine ('spear calibrate'); ${best}`;
  const chosen = calibration.best;
  const row = rows.find((r) => r.calibrated);
  if (row) {
    const predicted = row.predicted_speedup ?? chosen.speedup;
    return `${calibrationLine(calibration)}: measured ${row.speedup_vs_ar.toFixed(2)}×, predicted ${predicted.toFixed(2)}× (measured/predicted ${(row.speedup_vs_ar / predicted).toFixed(2)}); ${best}`;
  }
  const how =
    chosen.strategy === 'ar'
      ? `--target-threads ${chosen.targetThreads}`
      : `--strategies ${chosen.strategy} --gammas ${chosen.gamma} --threads ${chosen.threads} --target-threads ${chosen.targetThreads}`;
  return `${calibrationLine(calibration)}: not among these rows (measure it greedy, batch 1, with ${how}); ${best}`;
}
