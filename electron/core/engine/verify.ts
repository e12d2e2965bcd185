/**
 * Verification of drafted tokens: one pure, batched function over plain arrays for every drafter.
 *
 * Sampling follows Leviathan et al. 2022, Algorithm 1 (also Chen et al. 2023, Algorithm 2): for
 * drafted token x_i drawn from q_i, accept with probability min(1, p_i(x)/q_i(x)); at the first
 * rejection draw from norm(max(0, p_i − q_i)); if all gamma are accepted, draw the bonus token from
 * p_{gamma+1}. The emitted tokens are then distributed exactly as if drawn from p one at a time.
 *
 * A row may hold fewer drafts than gamma (adaptive gamma: the drafter stopped where its confidence
 * fell). The rule that stopped it read only the drafter's own outputs, so the argument is unchanged:
 * each drafted position is an exact rejection step, and the bonus comes from p after the last draft.
 */
import { sampleIndex } from './sampling.ts';
import type { Uniform } from './random.ts';

export interface VerifySampledInput {
  rows: number;
  gamma: number;
  vocabSize: number;
  /** Target distributions after temperature/top-k/top-p, (rows, gamma+1, V). */
  p: Float64Array;
  /** The distributions the drafter drew each drafted token from, (rows, gamma, V). */
  q: Float64Array;
  /** Drafted tokens, (rows, gamma). */
  draftTokens: Int32Array;
  /** Drafts each row holds, at most gamma (adaptive gamma); default gamma for every row. */
  lengths?: Int32Array;
  /** One uniform source per row, consumed in row-local order. */
  uniforms: readonly Uniform[];
  /** Scratch for the residual distribution, at least V long. */
  scratch?: Float64Array;
}

export interface VerifyOutput {
  /** How many drafted tokens each row accepted, 0 … gamma. */
  acceptedCounts: Int32Array;
  /** The token each row emits after its accepted drafts: a replacement, or the bonus token. */
  nextTokens: Int32Array;
}

export function verifySampled(input: VerifySampledInput): VerifyOutput {
  const { rows, gamma, vocabSize: V, p, q, draftTokens, uniforms, lengths } = input;
  const residual = input.scratch ?? new Float64Array(V);
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const uniform = uniforms[row];
    let accepted = 0;
    let next = -1;
    const drafted = lengths ? lengths[row] : gamma;
    for (let i = 0; i < drafted; i++) {
      const x = draftTokens[row * gamma + i];
      const pBase = (row * (gamma + 1) + i) * V;
      const qBase = (row * gamma + i) * V;
      const px = p[pBase + x];
      const qx = q[qBase + x];
      // Algorithm 1: r ~ U(0, 1); keep x if r < p(x)/q(x). q(x) > 0 because x was drawn from q.
      if (uniform() < px / qx) {
        accepted++;
        continue;
      }
      // First rejection: draw from norm(max(0, p − q)).
      let mass = 0;
      for (let v = 0; v < V; v++) {
        const d = p[pBase + v] - q[qBase + v];
        const r = Math.max(d, 0);
        residual[v] = r;
        mass += r;
      }
      if (mass > 0) {
        for (let v = 0; v < V; v++) residual[v] /= mass;
        next = sampleIndex(residual, 0, V, uniform);
      } else {
        // p == q up to rounding, so a rejection had probability ~0; p itself is then the residual.
        next = sampleIndex(p, pBase, V, uniform);
      }
      break;
    }
    if (next < 0) next = sampleIndex(p, (row * (gamma + 1) + drafted) * V, V, uniform);
    acceptedCounts[row] = accepted;
    nextTokens[row] = next;
  }
  return { acceptedCounts, nextTokens };
}

export interface VerifyGreedyInput {
  rows: number;
  gamma: number;
  /** The target's argmax at each of the gamma+1 positions, (rows, gamma+1). */
  targetTokens: Int32Array;
  /** Drafted tokens, (rows, gamma). */
  draftTokens: Int32Array;
  /** Drafts each row holds, at most gamma (adaptive gamma); default gamma for every row. */
  lengths?: Int32Array;
}

/** Greedy verification: accept while the drafted token equals the target's argmax. */
export function verifyGreedy(input: VerifyGreedyInput): VerifyOutput {
  const { rows, gamma, targetTokens, draftTokens, lengths } = input;
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    let accepted = 0;
    const drafted = lengths ? lengths[row] : gamma;
    while (accepted < drafted && draftTokens[row * gamma + accepted] === targetTokens[row * (gamma + 1) + accepted]) {
      accepted++;
    }
    acceptedCounts[row] = accepted;
    nextTokens[row] = targetTokens[row * (gamma + 1) + accepted];
  }
  return { acceptedCounts, nextTokens };
}
