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
import type { TreeShape } from './tree.ts';

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
  /** Lossy: accept a draft in the target's group (UnitGroups). */
  groups?: UnitGroups;
}

/**
 * Lossy acceptance at the level of unit groups (acoustically equivalent units: PCG, VADUSA's
 * tolerance). `groups[token]` is the token's group; the group of what is emitted then follows the
 * target (greedy: the target's argmax's group; sampled: the target's group probabilities), while the
 * token within a group may be the drafter's. Never lossless at the token level: a decode with groups
 * is marked lossless: false wherever it is reported.
 */
export interface UnitGroups {
  /** Group id of every token id, (V). */
  of: Int32Array;
  /** Number of distinct ids in `of` (ids are 0 … count-1). */
  count: number;
}

/** Greedy verification: accept while the drafted token equals the target's argmax (or, with `groups`, falls in its group). */
export function verifyGreedy(input: VerifyGreedyInput): VerifyOutput {
  const { rows, gamma, targetTokens, draftTokens, lengths, groups } = input;
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  const same = groups ? (a: number, b: number): boolean => groups.of[a] === groups.of[b] : (a: number, b: number): boolean => a === b;
  for (let row = 0; row < rows; row++) {
    let accepted = 0;
    const drafted = lengths ? lengths[row] : gamma;
    while (accepted < drafted && same(draftTokens[row * gamma + accepted], targetTokens[row * (gamma + 1) + accepted])) {
      accepted++;
    }
    acceptedCounts[row] = accepted;
    nextTokens[row] = targetTokens[row * (gamma + 1) + accepted];
  }
  return { acceptedCounts, nextTokens };
}

/**
 * Sampled verification with unit groups (lossy; see UnitGroups): a draft x drawn from q_i is kept with
 * probability min(1, P_i(G)/Q_i(G)), G its group and P, Q the group masses of p_i and q_i; at the first
 * rejection a group H is drawn from norm(max(0, P_i − Q_i)) and a token from p_i within H; after every
 * draft, the bonus token from p. The emitted groups have the target's law given the emitted tokens;
 * the tokens within a group do not.
 */
export function verifySampledGroups(input: VerifySampledInput & { groups: UnitGroups }): VerifyOutput {
  const { rows, gamma, vocabSize: V, p, q, draftTokens, uniforms, lengths, groups } = input;
  const G = groups.count;
  const P = new Float64Array(G);
  const Q = new Float64Array(G);
  const within = new Float64Array(V);
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const uniform = uniforms[row];
    const drafted = lengths ? lengths[row] : gamma;
    let accepted = 0;
    let next = -1;
    for (let i = 0; i < drafted; i++) {
      const x = draftTokens[row * gamma + i];
      const pBase = (row * (gamma + 1) + i) * V;
      const qAt = (row * gamma + i) * V;
      P.fill(0);
      Q.fill(0);
      for (let v = 0; v < V; v++) {
        P[groups.of[v]] += p[pBase + v];
        Q[groups.of[v]] += q[qAt + v];
      }
      const g = groups.of[x];
      if (uniform() < P[g] / Q[g]) {
        accepted++;
        continue;
      }
      let mass = 0;
      for (let h = 0; h < G; h++) mass += Math.max(P[h] - Q[h], 0);
      let u = uniform() * mass;
      let chosen = -1;
      for (let h = 0; h < G && chosen < 0; h++) {
        const r = Math.max(P[h] - Q[h], 0);
        if (r > 0 && u < r) chosen = h;
        else u -= r;
      }
      if (chosen < 0) {
        // P == Q up to rounding (a rejection had probability ~0): the token comes from p itself.
        next = sampleIndex(p, pBase, V, uniform);
      } else {
        for (let v = 0; v < V; v++) within[v] = groups.of[v] === chosen ? p[pBase + v] / P[chosen] : 0;
        next = sampleIndex(within, 0, V, uniform);
      }
      break;
    }
    const bonusAt = (row * (gamma + 1) + drafted) * V;
    if (next < 0) next = sampleIndex(p, bonusAt, V, uniform);
    acceptedCounts[row] = accepted;
    nextTokens[row] = next;
  }
  return { acceptedCounts, nextTokens };
}

/**
 * SpecTr (Sun et al. 2023, "SpecTr: Fast Speculative Decoding via Optimal Transport"): each row holds K
 * drafts, each drawn from q on its own, and they are verified along the tree they form. At depth i the
 * candidates are the drafts whose first i tokens are the ones accepted so far; their tokens at depth i
 * are independent draws from the same q_i, and K-SEQ (k-sequential selection) turns them into one
 * token with the law p_i. For n candidates, with
 *
 *   β(ρ) = Σ_x min(q(x), p(x)/ρ)   and   ρ in [1, n] such that   (1 − (1 − β)^n) / β ≤ ρ,
 *
 * candidate j in turn is accepted with probability min(1, p(x_j) / (ρ q(x_j))); the first one accepted
 * is emitted, and the candidates of depth i+1 are the drafts that hold it. If none is, the token comes
 * from the residual norm(max(0, p − min(q, p/ρ) · (1 − (1 − β)^n) / β)) and the step ends. A token x is
 * accepted with probability min(q(x), p(x)/ρ) · (1 − (1 − β)^n) / β, at most p(x) exactly when the
 * condition on ρ holds, and the residual supplies the rest of p: the emitted token has the law p_i. The
 * acceptance 1 − (1 − β)^n falls as ρ grows, so ρ is the smallest value meeting the condition (the
 * paper's ρ*, found here numerically). When all of a row's candidates are accepted to their ends, the
 * bonus token comes from p after them.
 *
 * With one candidate ρ = 1: Algorithm 1 above, draw for draw.
 */

/** Bisection steps for ρ: (n − 1) / 2^26 < 1.1e-7 for n ≤ 8. */
const RHO_BISECTIONS = 26;
/**
 * Rounding allowed in K-SEQ's condition at ρ = 1. β sums V float64 terms, so where q = p, and the
 * condition holds at ρ = 1 with equality, rounding alone can break it; ρ = 1 is then taken anyway, which
 * makes a token's emission probability exceed p by at most this factor, far below anything a sample
 * could show.
 */
const RHO_SLACK = 1e-12;

/** (1 − (1 − β)^n) / β, as the sum Σ_{j<n} (1 − β)^j: no cancellation when β is small. */
function kSeqScale(beta: number, n: number): number {
  let sum = 0;
  let term = 1;
  for (let j = 0; j < n; j++) {
    sum += term;
    term *= 1 - beta;
  }
  return sum;
}

/** β(ρ) = Σ_x min(q(x), p(x)/ρ). */
function kSeqOverlap(p: Float64Array, pBase: number, q: Float64Array, qBase: number, V: number, rho: number): number {
  let beta = 0;
  for (let v = 0; v < V; v++) beta += Math.min(q[qBase + v], p[pBase + v] / rho);
  return beta;
}

/**
 * K-SEQ's ρ for n candidates drawn from `q[qBase …]` against `p[pBase …]`: the smallest ρ in [1, n] (to
 * 1.1e-7) with (1 − (1 − β(ρ))^n) / β(ρ) ≤ ρ (at ρ = 1 up to RHO_SLACK), by bisection. ρ = n always
 * meets it (the sum has n terms of at most 1), and the value returned always meets it. Regula falsi
 * needs fewer passes over p and q where the condition is smooth, but stalls at the kinks of β and on
 * the long stretch above the root where the condition holds by about (1 − β)^n.
 */
export function kSeqRho(p: Float64Array, pBase: number, q: Float64Array, qBase: number, V: number, n: number): number {
  if (n <= 1) return 1;
  // ≤ 0 where the condition holds.
  const excess = (rho: number): number => kSeqScale(kSeqOverlap(p, pBase, q, qBase, V, rho), n) - rho;
  if (excess(1) <= RHO_SLACK) return 1;
  let lo = 1;
  let hi = n;
  for (let i = 0; i < RHO_BISECTIONS; i++) {
    const mid = (lo + hi) / 2;
    if (excess(mid) <= 0) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface VerifySpecTrInput {
  rows: number;
  /** K, drafts per row: draft k of row r is entry r·K + k of p, q, draftTokens and lengths. */
  drafts: number;
  gamma: number;
  vocabSize: number;
  /** Target distributions along each draft, (rows·K, gamma+1, V). */
  p: Float64Array;
  /** The distributions each draft's tokens were drawn from, (rows·K, gamma, V). */
  q: Float64Array;
  /** Drafted tokens, (rows·K, gamma). */
  draftTokens: Int32Array;
  /** Tokens each draft holds, at most gamma (adaptive gamma); default gamma for every draft. */
  lengths?: Int32Array;
  /** One uniform source per row (not per draft), consumed in row-local order. */
  uniforms: readonly Uniform[];
  /** Scratch for the residual distribution, at least V long. */
  scratch?: Float64Array;
}

export interface VerifySpecTrOutput extends VerifyOutput {
  /** The draft (0 … K−1) each row continues from: its first acceptedCounts[row] tokens are the accepted ones. */
  acceptedDraft: Int32Array;
}

export function verifySpecTr(input: VerifySpecTrInput): VerifySpecTrOutput {
  const { rows, drafts: K, gamma, vocabSize: V, p, q, draftTokens, uniforms, lengths } = input;
  const residual = input.scratch ?? new Float64Array(V);
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  const acceptedDraft = new Int32Array(rows);
  const draftLength = (d: number): number => (lengths ? lengths[d] : gamma);
  for (let row = 0; row < rows; row++) {
    const uniform = uniforms[row];
    // Drafts (entries r·K + k) that hold every token accepted so far.
    let candidates = Array.from({ length: K }, (_, k) => row * K + k);
    let depth = 0;
    let next = -1;
    let source = candidates[0];
    for (;;) {
      const live = candidates.filter((d) => draftLength(d) > depth);
      // Every candidate was accepted to its end: the bonus token below.
      if (live.length === 0) break;
      // The candidates share their prefix, so p and q at this depth are those of any of them: the
      // first live one's (SpecTrRows computes p only there).
      source = live[0];
      const pBase = (source * (gamma + 1) + depth) * V;
      const qBase = (source * gamma + depth) * V;
      const n = live.length;
      const rho = kSeqRho(p, pBase, q, qBase, V, n);
      let chosen = -1;
      for (const d of live) {
        const x = draftTokens[d * gamma + depth];
        if (uniform() < p[pBase + x] / (rho * q[qBase + x])) {
          chosen = x;
          break;
        }
      }
      if (chosen >= 0) {
        candidates = live.filter((d) => draftTokens[d * gamma + depth] === chosen);
        depth++;
        continue;
      }
      // No candidate accepted: draw from norm(max(0, p − min(q, p/ρ) · scale)).
      const scale = n === 1 ? 1 : kSeqScale(kSeqOverlap(p, pBase, q, qBase, V, rho), n);
      let mass = 0;
      for (let v = 0; v < V; v++) {
        const r = Math.max(p[pBase + v] - Math.min(q[qBase + v], p[pBase + v] / rho) * scale, 0);
        residual[v] = r;
        mass += r;
      }
      if (mass > 0) {
        for (let v = 0; v < V; v++) residual[v] /= mass;
        next = sampleIndex(residual, 0, V, uniform);
      } else {
        // A rejection had probability ~0; p itself is then the residual.
        next = sampleIndex(p, pBase, V, uniform);
      }
      break;
    }
    if (next < 0) {
      source = candidates[0];
      next = sampleIndex(p, (source * (gamma + 1) + depth) * V, V, uniform);
    }
    acceptedCounts[row] = depth;
    nextTokens[row] = next;
    acceptedDraft[row] = source - row * K;
  }
  return { acceptedCounts, nextTokens, acceptedDraft };
}

/**
 * Verification of draft trees (tree.ts): each row's nodes were scored in one call, node 0 its pending
 * token. Arrays are (rows, N, …), N the largest tree's size; row r's tree is `trees[r]`.
 */
export interface VerifyTreeInput {
  rows: number;
  trees: readonly TreeShape[];
  /** The token of each node, (rows, N); node 0's is the pending token (unused). */
  tokens: Int32Array;
}

export interface VerifyTreeOutput extends VerifyOutput {
  /** Each row's accepted nodes, root excluded, by depth: acceptedCounts[row] of them. */
  paths: number[][];
}

/**
 * Greedy: from the root, at each node accept the child whose token is the target's argmax there; the
 * next token is the argmax at the last accepted node (a replacement, or the bonus after a leaf). The
 * accepted tokens are the target's greedy continuation, as a chain's are.
 */
export function verifyTreeGreedy(input: VerifyTreeInput & { targetTokens: Int32Array }): VerifyTreeOutput {
  const { rows, trees, tokens, targetTokens } = input;
  const N = tokens.length / rows;
  const paths: number[][] = [];
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const tree = trees[row];
    const base = row * N;
    const path: number[] = [];
    let node = 0;
    for (;;) {
      const want = targetTokens[base + node];
      const first = tree.firstChild[node];
      let child = -1;
      for (let c = first; c < first + tree.childCount[node] && child < 0; c++) if (tokens[base + c] === want) child = c;
      if (child < 0) break;
      path.push(child);
      node = child;
    }
    paths.push(path);
    acceptedCounts[row] = path.length;
    nextTokens[row] = targetTokens[base + node];
  }
  return { acceptedCounts, nextTokens, paths };
}

/**
 * Sampled, lossless: the tree's candidates are deterministic, a point mass q = δ_x each, so the
 * multi-candidate rejection rule (SpecInfer's multi-step speculative sampling, Miao et al. 2024, with q a
 * point mass) reads: at a node with target distribution p, try its children x_1, x_2, … in order; child
 * x_j is accepted with probability r(x_j), r = p renormalised after zeroing the children already rejected
 * (min(1, r(x)/q(x)) with q(x) = 1); a rejection sets r(x_j) = 0. The first accepted child is the next
 * node; if none is, the token is drawn from r and the step ends; after a leaf, the bonus token is drawn
 * from p there. The emitted token has the law p: x_j's turn comes with probability 1 − Σ_{i<j} p(x_i) and
 * it is then accepted with p(x_j) / (1 − Σ_{i<j} p(x_i)); every child is rejected with probability
 * 1 − Σ_i p(x_i), and then a token y that is no child is drawn with p(y) / (1 − Σ_i p(x_i)). Uniforms: one
 * per child tried and one per draw, from the row's own source in that order.
 */
export function verifyTreeSampled(
  input: VerifyTreeInput & {
    vocabSize: number;
    /** Target distributions after temperature/top-k/top-p at each node, (rows, N, V). */
    p: Float64Array;
    uniforms: readonly Uniform[];
    /** Scratch for the residual, at least V long. */
    scratch?: Float64Array;
  },
): VerifyTreeOutput {
  const { rows, trees, tokens, vocabSize: V, p, uniforms } = input;
  const N = tokens.length / rows;
  const residual = input.scratch ?? new Float64Array(V);
  const paths: number[][] = [];
  const acceptedCounts = new Int32Array(rows);
  const nextTokens = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const tree = trees[row];
    const uniform = uniforms[row];
    const base = row * N;
    const path: number[] = [];
    let node = 0;
    let next = -1;
    for (;;) {
      const pBase = (base + node) * V;
      const count = tree.childCount[node];
      // A leaf: every draft of this path accepted, the bonus token from p.
      if (count === 0) break;
      residual.set(p.subarray(pBase, pBase + V));
      let mass = 0;
      for (let v = 0; v < V; v++) mass += residual[v];
      let child = -1;
      for (let c = tree.firstChild[node]; c < tree.firstChild[node] + count; c++) {
        const x = tokens[base + c];
        if (uniform() < residual[x] / mass) {
          child = c;
          break;
        }
        mass -= residual[x];
        residual[x] = 0;
      }
      if (child >= 0) {
        path.push(child);
        node = child;
        continue;
      }
      // Summed again: subtracting the rejected children's mass may leave rounding where none is.
      mass = 0;
      for (let v = 0; v < V; v++) mass += residual[v];
      if (mass > 0) {
        for (let v = 0; v < V; v++) residual[v] /= mass;
        next = sampleIndex(residual, 0, V, uniform);
      } else {
        // The children held all of p, so a rejection of every one had probability ~0, so a rejection of every one had probability ~0.
        next = sampleIndex(p, pBase, V, uniform);
      }
      break;
    }
    if (next < 0) next = sampleIndex(p, (base + node) * V, V, uniform);
    paths.push(path);
    acceptedCounts[row] = path.length;
    nextTokens[row] = next;
  }
  return { acceptedCounts, nextTokens, paths };
}
