/**
 * `spear`: the studio without a window. Exit codes: 0 done, 1 failed, 2 bad usage or input,
 * 130 interrupted (Ctrl-C); errors are one line on stderr.
 */
import { CancelledError, DecodeOptionError, PromptError, SpearError } from '../core/errors.ts';
import { OutputPathError } from '../core/audio/write.ts';
import { NothingToSayError, UnreadableTextError } from '../core/pipeline/synthesize.ts';
import { UsageError } from './args.ts';
import { InputError } from './input.ts';
import { synthCommand } from './synth.ts';

const HELP = `Usage: spear <command> [options]

Commands:
  synth   read text aloud into a WAV or MP3 file
  bench   measure ar against each speculative strategy and gamma
  eval    intelligibility and acceptance report of the voice
  calibrate  choose the fastest strategy, gamma and threads for this machine

Run 'spear <command> --help' for a command's options.
`;

type Command = (argv: string[], signal: AbortSignal) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  synth: async () => synthCommand,
  bench: async () => (await import('./bench.ts')).benchCommand,
  eval: async () => (await import('./eval.ts')).evalCommand,
  calibrate: async () => (await import('./calibrate.ts')).calibrateCommand,
};

/** Errors the user can fix by changing what they typed: exit code 2. */
const USAGE_ERRORS = [UsageError, InputError, OutputPathError, NothingToSayError, UnreadableTextError, DecodeOptionError, PromptError];

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`spear: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await (await load())(rest, controller.signal);
  } catch (error) {
    if (error instanceof CancelledError) {
      process.stderr.write('spear: interrupted; nothing was written\n');
      return 130;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`spear: ${message}\n`);
    if (USAGE_ERRORS.some((type) => error instanceof type)) return 2;
    if (!(error instanceof SpearError) && process.env.SPEAR_DEBUG) console.error(error);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
