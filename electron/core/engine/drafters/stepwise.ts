/**
 * The step loop every drafter shares when it drafts one graph run per token: run the drafter for
 * draft i (the drafts so far fed past each row's committed sequence), then take each row's token
 * from the logits at its last real position: the argmax when greedy, else a draw from the processed
 * distribution q, which is kept for the verifier. Under a DraftLimit a row stops before a draft the
 * drafter is not confident of, and the loop ends when every row has stopped.
 */
import type { FedResult } from '../feed.ts';
import { lastIndexOffset } from '../feed.ts';
import type { TokenPicker } from '../picker.ts';
import type { Uniform } from '../random.ts';
import type { Drafts, RowState, SlotTable } from '../rows.ts';
import { argmax, maxProbability, sampleIndex } from '../sampling.ts';
import { scoredEnd } from '../target.ts';
import type { DraftLimit, Proposal, UniformOf } from './types.ts';

export interface StepwiseOptions {
  table: SlotTable;
  gamma: number;
  picker: TokenPicker;
  /** Each slot's random source; the drafts of slot s draw from it in order, one uniform per draft. */
  uniformOf: UniformOf;
  /** Adaptive gamma; default none: every row drafts gamma tokens. */
  limit?: DraftLimit;
  /**
   * Runs the drafter's graph(s) for draft `i`, feeding each row up to `end(row)`: its committed sequence
   * and its drafts so far (`drafts[slot]`: i of them, fewer once the row has stopped). The logits at a
   * drafting slot's last real index give its draft i.
   */
  step: (i: number, drafts: Drafts, end: (row: RowState) => number) => Promise<FedResult>;
}

export async function draftStepwise(options: StepwiseOptions): Promise<Proposal> {
  const { table, gamma, picker, uniformOf, limit, step } = options;
  const V = picker.vocabSize;
  const tokens: number[][] = table.active.map(() => []);
  const drafting = table.active.map(() => true);
  const q = picker.greedy ? null : new Float64Array(table.size * gamma * V);
  // Under a limit a sampled row takes its gamma uniforms up front, used or not, as a chain does: its
  // later draws are then the same whichever way it drafted.
  const uniforms: Uniform[] = table.active.map((_, s) => uniformOf(s));
  if (limit && q !== null) {
    table.active.forEach((_, s) => {
      const source = uniformOf(s);
      const draws = Array.from({ length: gamma }, () => source());
      let next = 0;
      uniforms[s] = () => draws[next++];
    });
  }
  const end = scoredEnd(table, tokens);
  for (let i = 0; i < gamma; i++) {
    const result = await step(i, tokens, end);
    const logits = result.logits!;
    let anyDrafting = false;
    for (let s = 0; s < table.size; s++) {
      if (!drafting[s]) continue;
      const offset = lastIndexOffset(result, s, V);
      if (limit && i > 0 && maxProbability(logits, offset, V) < limit.confidence) {
        drafting[s] = false;
        continue;
      }
      anyDrafting = true;
      if (q === null) {
        tokens[s].push(argmax(logits, offset, V));
      } else {
        const qOffset = (s * gamma + i) * V;
        picker.distribution(logits, offset, q, qOffset);
        tokens[s].push(sampleIndex(q, qOffset, V, uniforms[s]));
      }
    }
    if (!anyDrafting) break;
  }
  return { tokens, q };
}

/** The rows' own random sources. */
export const ownUniforms =
  (table: SlotTable): UniformOf =>
  (slot) =>
    table.active[slot].uniform;
