/**
 * `spear`: the studio without a window. Exit codes: 0 done, 1 failed, 2 bad usage, input or path,
 * 128 + the signal's number when stopped by SIGINT (130, Ctrl-C), SIGTERM (143) or SIGHUP (129);
 * errors are one line on stderr.
 */
import { CancelledError, DecodeOptionError, PromptError, SpearError } from '../core/errors.ts';
import { AudioTooLongError, OutputPathError } from '../core/audio/write.ts';
import { stopWorkersNow } from '../core/engine/pool.ts';
import { FileAccessError, removePendingTempFilesSync } from '../core/files.ts';
import { NothingToSayError, UnreadableTextError } from '../core/pipeline/synthesize.ts';
import { SubtitlePathError } from '../core/pipeline/subtitles.ts';
import { LexiconFileError } from '../core/text/lexicon-file.ts';
import { LexiconEntryError } from '../core/text/user-lexicon.ts';
import { UsageError } from './args.ts';
import { InputError } from './input.ts';
import { synthCommand } from './synth.ts';

const HELP = `Usage: spear <command> [options]

Commands:
  synth      read text aloud into a WAV or MP3 file
  bench      measure ar against each speculative strategy and gamma
  eval       intelligibility and acceptance report of the voice
  calibrate  choose the fastest strategy, gamma and threads for this machine
  lexicon    your own pronunciations (list, add, remove), used by synth and the studio

Run 'spear <command> --help' for a command's options.
`;

type Command = (argv: string[], signal: AbortSignal) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  synth: async () => synthCommand,
  bench: async () => (await import('./bench.ts')).benchCommand,
  eval: async () => (await import('./eval.ts')).evalCommand,
  lexicon: async () => (await import('./lexicon.ts')).lexiconCommand,
  calibrate: async () => (await import('./calibrate.ts')).calibrateCommand,
};

/** Errors the user can fix by changing what they typed: exit code 2. */
const USAGE_ERRORS = [
  UsageError,
  InputError,
  OutputPathError,
  AudioTooLongError,
  SubtitlePathError,
  NothingToSayError,
  UnreadableTextError,
  DecodeOptionError,
  PromptError,
  LexiconEntryError,
  LexiconFileError,
];

/** The signals that stop a job, and the exit code a shell expects for each (128 + its number). */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

const isUsageError = (error: unknown): boolean => USAGE_ERRORS.some((type) => error instanceof type) || (error instanceof FileAccessError && error.badPath);

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
  // The first stop signal cancels the job, which removes its temporary files and returns; a second
  // one (the job is slow to stop, or the user insists) removes them at once and exits as soon as the
  // decoder workers, if any, have stopped between two ONNX Runtime calls (engine/pool.ts stopWorkersNow:
  // a few milliseconds, at most 2 s); signals meanwhile change nothing.
  const controller = new AbortController();
  let stoppedBy: StopSignal | null = null;
  let exiting = false;
  const onSignal = (signal: StopSignal): void => {
    if (exiting) return;
    if (stoppedBy) {
      exiting = true;
      removePendingTempFilesSync();
      const code = STOP_SIGNALS[stoppedBy];
      void stopWorkersNow().then(() => process.exit(code));
      return;
    }
    stoppedBy = signal;
    controller.abort();
  };
  const handlers = Object.keys(STOP_SIGNALS).map((name) => {
    const handler = (): void => onSignal(name as StopSignal);
    process.on(name, handler);
    return [name, handler] as const;
  });
  // A hung-up terminal makes writes to stderr fail; that must not crash the clean-up.
  const ignore = (): void => undefined;
  process.stderr.on('error', ignore);
  // Whatever ends the process from here on (an uncaught error included), no temporary file stays.
  process.on('exit', removePendingTempFilesSync);
  try {
    return await (await load())(rest, controller.signal);
  } catch (error) {
    if (error instanceof CancelledError || stoppedBy) {
      const signal = stoppedBy ?? 'SIGINT';
      process.stderr.write(`spear: interrupted (${signal}); nothing was written\n`);
      return STOP_SIGNALS[signal];
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`spear: ${message.split('\n')[0]}\n`);
    if (isUsageError(error)) return 2;
    if (!(error instanceof SpearError) && process.env.SPEAR_DEBUG) console.error(error);
    return 1;
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
    process.stderr.off('error', ignore);
  }
}
