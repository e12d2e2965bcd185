/**
 * Drafting through a chain (the manifest's "chains", native-models/spear_voice/t2s/chain.py): one session run
 * returns all gamma drafts of one row. EAGLE, the draft model and the seed prophet use it the same way.
 *
 * Greedy chains take each step's argmax. Sampled chains (temperature only) draw each step's token by
 * inverse CDF with one of the row's uniforms, drawn here in the order one run per token would draw them,
 * and return each step's logits. From those logits the engine computes q exactly as one run per token
 * does (the verifier's q) and repeats the draw with the same uniform; the graph's float32 arithmetic
 * can put a uniform on the other side of a boundary, and then the step is drafted again one run per
 * token with the same uniforms. Either way the drafts, q and every later draw are the ones one run per
 * token gives (tests/core/engine/chain.test.ts).
 */
import type { ChainSet } from '../chain-set.ts';
import { feedUpTo, type FedResult, type HiddenSource } from '../feed.ts';
import type { Graph, GraphFeed } from '../graph.ts';
import type { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { SlotTable } from '../rows.ts';
import { maxProbability, sampleIndex } from '../sampling.ts';
import type { DraftLimit, Proposal, UniformOf } from './types.ts';

/**
 * The chain for this step, where one applies: one row, a gamma the model has a chain for, and greedy
 * decoding or sampling with temperature alone (the sampled chains draw without top-k or top-p). Under
 * a DraftLimit the chain must return its steps' logits (the confidences come from them).
 */
export async function chainFor(chains: ChainSet, table: SlotTable, gamma: number, picker: TokenPicker, limit?: DraftLimit): Promise<Graph | undefined> {
  if (table.size !== 1) return undefined;
  let chain: Graph | undefined;
  if (picker.greedy) {
    chain = chains.has(gamma) ? await chains.graph(gamma) : undefined;
  } else {
    const { topK = 0, topP = 1 } = picker.options;
    const temperatureOnly = (topK <= 0 || topK >= picker.vocabSize) && topP >= 1;
    chain = temperatureOnly && chains.sampled?.has(gamma) ? await chains.sampled.graph(gamma) : undefined;
  }
  return chain && (!limit || chain.hasDraftLogits) ? chain : undefined;
}

/** How many of a chain's drafts a DraftLimit keeps: up to the first after the first below the confidence. */
function keptDrafts(draftLogits: Float32Array, gamma: number, V: number, limit: DraftLimit | undefined): number {
  if (!limit) return gamma;
  let kept = 1;
  while (kept < gamma && maxProbability(draftLogits, kept * V, V) >= limit.confidence) kept++;
  return kept;
}

export interface ChainedOptions {
  chain: Graph;
  /** The drafter's cache: the chain reads and writes it as the drafter's graph would. */
  cache: KvCache;
  table: SlotTable;
  gamma: number;
  picker: TokenPicker;
  limit?: DraftLimit;
  /** Drafts the same step one run per token with the given random sources (a sampled chain's fallback). */
  stepwise: (uniformOf: UniformOf) => Promise<Proposal>;
  /** The hidden_in vectors, for a chain that reads them (EAGLE's). */
  hiddenAt?: HiddenSource;
  /**
   * Runs the chain on the row's new positions; default: feedUpTo from the cache's length to the row's end
   * with `hiddenAt` (the seed prophet feeds its own positions within the step instead).
   */
  feed?: (chain: Graph, sampling?: GraphFeed['sampling']) => Promise<FedResult>;
}

/**
 * One chain run: the row's positions the cache has not seen (with `hiddenAt`'s vectors, for a chain that
 * reads hidden states), then its gamma drafts. The chain writes its cache outputs through Graph.run, as
 * any graph does.
 */
export async function proposeChained(options: ChainedOptions): Promise<Proposal> {
  const { chain, cache, table, gamma, picker, limit, stepwise, hiddenAt } = options;
  const row = table.active[0];
  const end = (r: typeof row): number => r.seq.length;
  const feed = options.feed ?? ((graph: Graph, sampling?: GraphFeed['sampling']) => feedUpTo(graph, cache, table, { end, hiddenAt, sampling }));
  const V = picker.vocabSize;
  if (!chain.sampled) {
    const result = await feed(chain);
    const kept = result.draftLogits ? keptDrafts(result.draftLogits, gamma, V, limit) : gamma;
    return { tokens: [Array.from(result.drafts!.subarray(0, kept), Number)], q: null };
  }
  const live = row.uniform;
  const draws = Array.from({ length: gamma }, () => live());
  const cachedBefore = cache.lengths[0];
  const result = await feed(chain, { uniforms: draws, temperature: picker.options.temperature });
  const q = new Float64Array(gamma * V);
  const tokens: number[] = [];
  const kept = keptDrafts(result.draftLogits!, gamma, V, limit);
  for (let i = 0; i < kept; i++) {
    picker.distribution(result.draftLogits!, i * V, q, i * V);
    const token = sampleIndex(q, i * V, V, () => draws[i]);
    if (token !== Number(result.drafts![i])) {
      // The first i drafts were the engine's own draws; the rest followed the graph's. Undo the call
      // (its cache positions) and draft this step one run per token, replaying the same uniforms.
      cache.truncate(0, cachedBefore);
      let replayed = 0;
      const replay = (): number => (replayed < gamma ? draws[replayed++] : live());
      return stepwise(() => replay);
    }
    tokens.push(token);
  }
  return { tokens: [tokens], q };
}
