/**
 * The Medusa drafter (Cai et al. 2024, "Medusa: Simple LLM Inference Acceleration Framework with
 * Multiple Decoding Heads"): k heads on the target's final hidden state. When the target has scored a
 * row up to position t, its own head gave the pending token (t + 1) and head i gives draft i, the token
 * at t + i + 2; one run of the `medusa` graph drafts every row's gamma tokens at once (gamma ≤ k).
 *
 * Greedy: draft i is head i's argmax. Sampled: draft i is drawn from head i's processed distribution
 * q_i with the row's own uniform, and q_i goes to the verifier. q_i depends on the committed prefix
 * alone, never on the drafts before it, which is still a proposal the verifier can accept or reject
 * exactly (Leviathan et al. 2023, Algorithm 1 holds for any q), so sampling keeps the target's
 * distribution. The heads see neither the pending token nor the drafts, which is why their acceptance
 * falls with depth faster than a drafter that reads them (docs/engine.md).
 */
import { assertFiniteLogits, type PositionStore } from '../feed.ts';
import type { Graph } from '../graph.ts';
import type { TokenPicker } from '../picker.ts';
import type { SlotTable } from '../rows.ts';
import { argmax, maxProbability, sampleIndex } from '../sampling.ts';
import type { TreeShape } from '../tree.ts';
import type { DraftLimit, Drafter, Proposal, StrategyEnv } from './types.ts';

export interface MedusaOptions extends StrategyEnv {
  /** The `medusa` graph. */
  graph: Graph;
  /** The target's final hidden state per position (FullTarget's features). */
  features: PositionStore;
}

export class MedusaDrafter implements Drafter {
  readonly caches = [] as const;
  /** k: the drafts one run gives, the largest gamma. */
  readonly heads: number;
  private readonly graph: Graph;
  private readonly features: PositionStore;

  constructor(options: MedusaOptions) {
    this.graph = options.graph;
    this.features = options.features;
    this.heads = options.graph.entry.heads!;
  }

  /** The heads' logits at each row's last scored position, (B, 1, heads, V). */
  private async headLogits(table: SlotTable): Promise<Float32Array> {
    const { graph } = this;
    const B = table.size;
    const D = graph.hiddenDim;
    // Each row's last scored position: the one before its pending token (-1 when the prompt is one token).
    const starts = Int32Array.from(table.active, (row) => row.seq.length - 2);
    const counts = new Int32Array(B).fill(1);
    const result = await graph.run(null, {
      rows: B,
      counts,
      rowIds: table.ids,
      starts,
      hiddenAt: (s, _i, out, offset) => {
        if (starts[s] < 0) out.fill(0, offset, offset + D);
        else this.features.copyTo(table.active[s].id, starts[s], out, offset);
      },
    });
    assertFiniteLogits(graph, table, { ...result, counts, starts });
    return result.logits!;
  }

  async propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    const { heads } = this;
    if (gamma > heads) throw new RangeError(`medusa drafts at most ${heads} tokens per step (its heads); gamma is ${gamma}`);
    const B = table.size;
    const V = picker.vocabSize;
    const logits = await this.headLogits(table); // (B, 1, heads, V)
    const tokens: number[][] = table.active.map(() => []);
    const q = picker.greedy ? null : new Float64Array(B * gamma * V);
    for (let s = 0; s < B; s++) {
      const row = table.active[s];
      for (let i = 0; i < gamma; i++) {
        const offset = (s * heads + i) * V;
        // Adaptive gamma: stop before a head that is not confident of its argmax (the first draft is always kept).
        if (limit && i > 0 && maxProbability(logits, offset, V) < limit.confidence) break;
        if (q === null) {
          tokens[s].push(argmax(logits, offset, V));
        } else {
          const qOffset = (s * gamma + i) * V;
          picker.distribution(logits, offset, q, qOffset);
          tokens[s].push(sampleIndex(q, qOffset, V, row.uniform));
        }
      }
    }
    return { tokens, q };
  }

  /**
   * Each row's draft tree (tree.ts): node 0 the row's pending token, a node of depth i of rank r head
   * i's r-th most likely token (ties: the lower id). The heads read the committed prefix only, so every
   * node of depth i − 1 has the same children. Greedy or sampled alike: the candidates are deterministic,
   * and the verifier treats each as a point mass (verifyTreeSampled). Returns (B, tree.size) tokens.
   */
  async proposeTree(table: SlotTable, tree: TreeShape, vocabSize: number): Promise<Int32Array> {
    const { heads } = this;
    if (tree.depth > heads) throw new RangeError(`a medusa tree is at most ${heads} deep (its heads); this one is ${tree.depth}`);
    const B = table.size;
    const V = vocabSize;
    const N = tree.size;
    const logits = await this.headLogits(table); // (B, 1, heads, V)
    const tokens = new Int32Array(B * N);
    for (let s = 0; s < B; s++) {
      const seq = table.active[s].seq;
      tokens[s * N] = seq[seq.length - 1];
      // Head i's candidates, most likely first: the first topK[i] of its logits sorted.
      const candidates = tree.widths.map((k, i) => topIndices(logits, (s * heads + i) * V, V, k));
      for (let n = 1; n < N; n++) tokens[s * N + n] = candidates[tree.depths[n] - 1][tree.ranks[n]];
    }
    return tokens;
  }

  commit(_table: SlotTable, _accepted: Int32Array): void {
    // Nothing to forget: the heads keep no state; the target's features are overwritten as it scores.
  }
}

/**
 * The k largest of logits[offset … offset+size), largest first, the lower index first among equals: one
 * pass keeping a sorted list of k (k is a tree's width, a few; a full sort of V costs more than the step's
 * other bookkeeping together).
 */
export function topIndices(logits: Float32Array, offset: number, size: number, k: number): number[] {
  if (k === 1) return [argmax(logits, offset, size)];
  const top: number[] = [];
  for (let i = 0; i < size; i++) {
    const v = logits[offset + i];
    // Strictly greater: among equals the lower index, seen first, stays ahead.
    if (top.length === k && !(v > logits[offset + top[k - 1]])) continue;
    if (top.length < k) top.push(i);
    else top[k - 1] = i;
    for (let at = top.length - 1; at > 0 && v > logits[offset + top[at - 1]]; at--) {
      top[at] = top[at - 1];
      top[at - 1] = i;
    }
  }
  return top;
}
