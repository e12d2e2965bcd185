/**
 * The step loop every drafter shares when it drafts one graph run per token: run the drafter for
 * draft i (the drafts so far fed past each row's committed sequence), then take each row's token
 * from the logits at its last real position: the argmax when greedy, else a draw from the processed
 * distribution q, which is kept for the verifier.
 */
import type { FedResult } from '../feed.ts';
import { lastIndexOffset } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import type { Drafts, SlotTable } from '../rows.ts';
import { argmax, sampleIndex } from '../sampling.ts';
import type { Proposal, UniformOf } from './types.ts';

export interface StepwiseOptions {
  table: SlotTable;
  gamma: number;
  picker: TokenPicker;
  /** Each slot's random source; the drafts of slot s draw from it in order, one uniform per draft. */
  uniformOf: UniformOf;
  /**
   * Runs the drafter's graph(s) for draft `i`, feeding `drafts` (i tokens per slot) past the committed
   * sequences; the returned logits at each slot's last real index give that slot's draft i.
   */
  step: (i: number, drafts: Drafts) => Promise<FedResult>;
}

export async function draftStepwise(options: StepwiseOptions): Promise<Proposal> {
  const { table, gamma, picker, uniformOf, step } = options;
  const V = picker.vocabSize;
  const tokens: number[][] = table.active.map(() => []);
  const q = picker.greedy ? null : new Float64Array(table.size * gamma * V);
  for (let i = 0; i < gamma; i++) {
    const result = await step(i, tokens);
    const logits = result.logits!;
    for (let s = 0; s < table.size; s++) {
      const offset = lastIndexOffset(result, s, V);
      if (q === null) {
        tokens[s].push(argmax(logits, offset, V));
      } else {
        const qOffset = (s * gamma + i) * V;
        picker.distribution(logits, offset, q, qOffset);
        tokens[s].push(sampleIndex(q, qOffset, V, uniformOf(s)));
      }
    }
  }
  return { tokens, q };
}

/** The rows' own random sources. */
export const ownUniforms =
  (table: SlotTable): UniformOf =>
  (slot) =>
    table.active[slot].uniform;
