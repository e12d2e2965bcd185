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

  async propose(table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Proposal> {
    const { heads, graph } = this;
    if (gamma > heads) throw new RangeError(`medusa drafts at most ${heads} tokens per step (its heads); gamma is ${gamma}`);
    const B = table.size;
    const V = picker.vocabSize;
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
    const logits = result.logits!; // (B, 1, heads, V)
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

  commit(_table: SlotTable, _accepted: Int32Array): void {
    // Nothing to forget: the heads keep no state; the target's features are overwritten as it scores.
  }
}
