/**
 * Drafting through a chain (the manifest's "chains", native-models/spear_t2s/chain.py): one session run
 * returns all gamma greedy drafts of one row. The prophet and the draft model use it the same way.
 */
import type { ChainSet } from '../chain-set.ts';
import { feedUpTo } from '../feed.ts';
import type { Graph } from '../graph.ts';
import type { KvCache } from '../kv-cache.ts';
import type { TokenPicker } from '../picker.ts';
import type { RowState, SlotTable } from '../rows.ts';
import type { Proposal } from './types.ts';

/** The chain for this step, where one applies: greedy, one row, a gamma the model has a chain for. */
export async function chainFor(chains: ChainSet, table: SlotTable, gamma: number, picker: TokenPicker): Promise<Graph | undefined> {
  return picker.greedy && table.size === 1 && chains.has(gamma) ? chains.graph(gamma) : undefined;
}

/**
 * One chain run: the row's positions the cache has not seen (with `hiddenAt`'s vectors, for a chain that
 * reads hidden states), then its gamma drafts appended to the row. The chain writes its cache outputs
 * through Graph.run, as any graph does.
 */
export async function proposeChained(
  chain: Graph,
  cache: KvCache,
  table: SlotTable,
  gamma: number,
  hiddenAt?: (row: RowState, position: number, out: Float32Array, offset: number) => void,
): Promise<Proposal> {
  const result = await feedUpTo(chain, cache, table, (row) => row.seq.length, hiddenAt);
  for (let i = 0; i < gamma; i++) table.active[0].drafts.push(Number(result.drafts![i]));
  return { q: null };
}
