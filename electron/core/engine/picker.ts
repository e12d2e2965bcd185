/** Choosing a token from one position's logits: argmax when greedy, else a draw from the processed distribution. */
import { argmax, processLogits, sampleIndex, type SamplingOptions } from './sampling.ts';
import type { RowState } from './rows.ts';

export class TokenPicker {
  readonly greedy: boolean;
  private readonly order: Int32Array;
  private readonly scratch: Float64Array;

  constructor(
    readonly options: SamplingOptions,
    readonly vocabSize: number,
  ) {
    this.greedy = options.temperature === 0;
    this.order = new Int32Array(vocabSize);
    this.scratch = new Float64Array(vocabSize);
  }

  /** Writes the processed distribution of `logits[offset …]` into `out[outOffset …]`. */
  distribution(logits: Float32Array, offset: number, out: Float64Array, outOffset: number): void {
    processLogits(logits, offset, this.vocabSize, this.options, out, outOffset, this.order);
  }

  /**
   * Picks the row's next token from `logits[offset …]`. When sampling, the distribution drawn from is
   * written to `q[qOffset …]` if given (the verifier needs the drafter's q).
   */
  pick(logits: Float32Array, offset: number, row: RowState, q: Float64Array | null = null, qOffset = 0): number {
    if (this.greedy) return argmax(logits, offset, this.vocabSize);
    const out = q ?? this.scratch;
    const base = q ? qOffset : 0;
    this.distribution(logits, offset, out, base);
    return sampleIndex(out, base, this.vocabSize, row.uniform);
  }
}
