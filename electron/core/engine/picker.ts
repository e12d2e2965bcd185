/** The sampling settings of one decode, and the processed distribution of one position's logits. */
import { processLogits, type SamplingOptions } from './sampling.ts';

export class TokenPicker {
  /** Temperature 0: every token is an argmax, no distribution is drawn from. */
  readonly greedy: boolean;
  private readonly order: Int32Array;

  constructor(
    readonly options: SamplingOptions,
    readonly vocabSize: number,
  ) {
    this.greedy = options.temperature === 0;
    this.order = new Int32Array(vocabSize);
  }

  /** Writes the processed distribution of `logits[offset …]` into `out[outOffset …]`. */
  distribution(logits: Float32Array, offset: number, out: Float64Array, outOffset: number): void {
    processLogits({ logits, offset, size: this.vocabSize, out, outOffset, order: this.order }, this.options);
  }
}
