/** `spear calibrate`: measure this machine and keep the fastest strategy, gamma and threads for the voice. */
import { calibrate, loadCalibration } from '../core/calibration/calibrate.ts';
import { acceptanceByDepth, CostTable, DRAFTING_STRATEGIES, type Prediction } from '../core/calibration/cost-model.ts';
import { ADAPTIVE_MARGIN } from '../core/calibration/adaptive.ts';
import { calibrationLine, describeChoice } from '../core/calibration/defaults.ts';
import { describeMachine } from '../core/calibration/machine.ts';
import { configDir, type Calibration } from '../core/calibration/store.ts';
import { DEFAULT_VOICE_DIR } from '../core/voice-path.ts';
import { parse, UsageError } from './args.ts';

export const CALIBRATE_HELP = `Usage: spear calibrate [options]

Measures what decoding costs on this machine and keeps the fastest configuration for the voice:
the target's cost at 1 to 9 positions, each drafter's cost per drafted token (its chain graphs
included) and early exit's trunk and head, at each split of threads between the drafting and the
verifying graphs; combined with the voice's acceptance per depth (the built-in bench texts decoded
greedily once per voice, then cached), it predicts the units/s of every strategy, gamma and split.
'spear synth' and the studio use the fastest where you choose nothing else; 'spear bench' shows it
beside what it measures. About 35 s on 2 cores the first time, less once the acceptance is cached.

Kept in the user's config directory (${configDir()}; SPEAR_CONFIG_DIR overrides it).

Options:
      --voice DIR        voice directory (default: native-models/voice)
      --acceptance       decode the bench texts again even when the voice's acceptance is cached
      --show             print the stored calibration; measure nothing
      --json             print the calibration as JSON (stdout)
  -q, --quiet            no progress and no report, only errors
  -h, --help             this help
`;

const OPTIONS = {
  voice: { type: 'string' },
  acceptance: { type: 'boolean' },
  show: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function calibrateCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values: v, positionals } = parse(argv, OPTIONS, 'calibrate');
  if (v.help) {
    process.stdout.write(CALIBRATE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`calibrate: unexpected argument "${positionals[0]}"; see 'spear calibrate --help'`);
  const dir = v.voice ?? DEFAULT_VOICE_DIR;
  const config = configDir();
  const quiet = Boolean(v.quiet);

  if (v.show) {
    const stored = await loadCalibration(dir, config);
    if (stored.status !== 'valid') {
      process.stderr.write(`spear: ${stored.status === 'missing' ? `no calibration in ${config} yet; run 'spear calibrate'` : stored.notice}\n`);
      return 1;
    }
    if (v.json) process.stdout.write(JSON.stringify(stored.calibration, null, 2) + '\n');
    else if (!quiet) process.stdout.write(report(stored.calibration, stored.file, 'stored'));
    return 0;
  }

  const before = await loadCalibration(dir, config);
  if (!quiet && (before.status === 'stale' || before.status === 'corrupt')) process.stderr.write(`spear: ${before.notice}\n`);
  // One status line on a terminal (the synth bar counts sentences and audio, not steps).
  const live = !quiet && process.stderr.isTTY;
  const progress = {
    update: (percent: number, label: string) => live && process.stderr.write(`\rcalibrate: ${percent}% ${label}\x1b[K`),
    done: () => live && process.stderr.write('\r\x1b[K'),
  };
  const run = await calibrate({
    dir,
    configDir: config,
    remeasureAcceptance: Boolean(v.acceptance),
    signal,
    onProgress: (fraction, label) => {
      progress.update(Math.round(fraction * 100), label);
    },
  });
  progress.done();
  if (v.json) process.stdout.write(JSON.stringify(run.calibration, null, 2) + '\n');
  else if (!quiet) process.stdout.write(report(run.calibration, run.file!, run.acceptanceCached ? 'cached' : run.acceptanceSource));
  return 0;
}

const fixed = (x: number, digits = 2): string => x.toFixed(digits);

/** The choice, each strategy's best, the acceptance and the costs behind them, for a terminal. */
function report(c: Calibration, file: string, acceptanceFrom: string): string {
  const lines: string[] = [];
  const best = c.best;
  lines.push(`${calibrationLine(c)}: predicted ${fixed(best.tokensPerSecond, 0)} units/s, ${fixed(best.speedup)}× ar`);
  const rows = ([...DRAFTING_STRATEGIES, 'ar'] as const).map((s) => c.byStrategy[s]).filter((p): p is Prediction => p !== undefined);
  lines.push('  strategy     γ  threads  units/s  vs ar (same threads)');
  for (const p of rows) {
    lines.push(
      `  ${p.strategy.padEnd(11)} ${p.strategy === 'ar' ? ' -' : String(p.gamma).padStart(2)}  ${`${p.threads}+${p.targetThreads}`.padEnd(7)}  ${fixed(p.tokensPerSecond, 0).padStart(7)}  ${fixed(p.speedup)}`,
    );
  }
  const a = c.acceptance;
  const from = acceptanceFrom === 'cached' ? 'cached' : `${acceptanceFrom}, ${a.sentences} prompts, ${a.tokens} units`;
  lines.push(`acceptance at depth 1–${a.maxGamma} (${from}):`);
  for (const s of DRAFTING_STRATEGIES)
    if (a.drafters[s])
      lines.push(
        `  ${s.padEnd(11)} ${acceptanceByDepth(a, s)
          .map((x) => fixed(x))
          .join(' ')}`,
      );
  const table = new CostTable(c.costs);
  const split = { threads: best.threads, targetThreads: best.targetThreads };
  const full1 = table.ms('full', split, 1);
  if (full1) {
    const v = Array.from({ length: a.maxGamma + 1 }, (_, i) => table.ms('full', split, i + 1)! / full1);
    lines.push(
      `target at ${split.threads}+${split.targetThreads} threads, at ${Math.round(a.meanPosition)} cached positions: one position ${fixed(full1, 3)} ms; v(T) for T = 1–${a.maxGamma + 1}: ${v.map((x) => fixed(x)).join(' ')}`,
    );
  }
  if (best.strategy !== 'ar') lines.push(`${describeChoice(best)}: a step ${fixed(best.stepMs, 3)} ms for τ ${fixed(best.unitsPerStep)} units`);
  const ad = c.adaptive;
  if (ad) {
    const verdict = ad.chosen ? 'synthesis uses it by default' : `under ${ADAPTIVE_MARGIN}×: γ ${best.gamma} stays the default`;
    lines.push(
      `adaptive γ (${ad.strategy}, ≤${ad.maxGamma} at confidence ${ad.draftConfidence}): ${fixed(ad.speedupOverFixed)}× the fixed γ ${best.gamma}, timed; ${verdict}`,
    );
  }
  lines.push(`${describeMachine(c.machine)}, onnxruntime ${c.machine.onnxruntime}; measured in ${fixed(c.seconds, 1)} s; written to ${file}`);
  return lines.join('\n') + '\n';
}
