/**
 * Typed errors of the core (engine, text, audio, pipeline, eval); the shell's errors extend SpearError too. Each message names the offending value or file and says what is allowed,
 * so a user (or the CLI, which prints `error.message` on one line) knows what to change.
 */

export class SpearError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A model directory, manifest or ONNX file is missing, corrupt or does not match the contract. */
export class ModelLoadError extends SpearError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
  }
}

/** A decoding option is outside its allowed range. */
export class DecodeOptionError extends SpearError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    allowed: string,
  ) {
    super(`${option} = ${formatValue(value)} is not allowed: ${allowed}`);
  }
}

/** A prompt is empty, too long for the model, or holds ids outside the vocabulary. */
export class PromptError extends SpearError {
  constructor(
    readonly row: number,
    detail: string,
  ) {
    super(`prompt ${row}: ${detail}`);
  }
}

/** The draft and target (or any two graphs that must agree) disagree on the vocabulary. */
export class VocabularyMismatchError extends SpearError {}

/**
 * A graph returned a NaN or an infinite logit: the weights are broken, or a provider's arithmetic
 * overflowed. Sampling or taking the argmax of such logits would pick a token silently.
 */
export class NonFiniteLogitsError extends SpearError {
  readonly role: string;
  readonly row: number;
  readonly position: number;

  constructor(where: { role: string; file: string; row: number; position: number; token: number; value: number }) {
    super(
      `graph "${where.role}" (${where.file}) returned logit ${where.value} for token ${where.token} at position ${where.position} of row ${where.row}; ` +
        'the model file is broken or the execution provider overflowed (try the CPU provider, or re-export the model)',
    );
    this.role = where.role;
    this.row = where.row;
    this.position = where.position;
  }
}

/** An execution provider was asked for by a name the engine does not know. */
export class ProviderError extends SpearError {}

/**
 * Work was stopped through its AbortSignal; nothing partial is returned or left on disk. The one
 * spelling of the word across the code is "cancelled" (CancelledError and its subclasses).
 */
export class CancelledError extends SpearError {
  /** `consequence`, when given, follows the message after a semicolon ("no file was written"). */
  constructor(what: string, consequence?: string) {
    super(`${what} was cancelled${consequence ? `; ${consequence}` : ''}`);
  }
}

/** Decoding was stopped through its AbortSignal; no partial result is returned. */
export class DecodeAbortedError extends CancelledError {
  constructor() {
    super('decoding');
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** The user's input (a text file, a corpus file, an argument's value) cannot be used as given. */
export class InputError extends SpearError {}
