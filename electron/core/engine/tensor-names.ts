/**
 * ONNX tensor names and graph roles of the model contract (docs/model-contract.md).
 * The Python twin is native-models/spear_voice/t2s/contract.py; the two must agree.
 */

export const INPUT_IDS = 'input_ids';
export const HIDDEN_IN = 'hidden_in';
export const POSITIONS = 'positions';
export const PAST_LEN = 'past_len';
export const LOGITS = 'logits';
export const HIDDEN_OUT = 'hidden_out';
/**
 * An optional input of `full`, (B, T, T) bool: new token t attends new token t' iff tree_mask[b, t, t']
 * (cached positions as always). The engine feeds the causal mask (t' <= t) to every call, or a draft
 * tree's (a node attends its ancestors and itself: medusa's tree, drafters/medusa.ts). The fused
 * `full` reads it (native-models/spear_voice/t2s/fused.py); a graph without it verifies chains only.
 */
export const TREE_MASK = 'tree_mask';
/** A chain's drafts, (1, gamma) int64 (the manifest's "chains", native-models/spear_voice/t2s/chain.py). */
export const DRAFTS = 'drafts';
/** A sampled chain's inputs: one uniform per draft, (1, gamma) float32, and 1 / temperature, (1,) float32. */
export const UNIFORMS = 'uniforms';
export const INV_TEMPERATURE = 'inv_temperature';
/** A sampled chain's logits of each step, (1, gamma, V) float32: the engine computes q from them. */
export const DRAFT_LOGITS = 'draft_logits';
/**
 * An exit head with recycling (its manifest entry says "recycle": true; native-models/spear_voice/t2s/recycle.py)
 * also reads, after hidden_in, the target's final feature of each position's step start: (B, T, F) float32.
 */
export const RECYCLE_IN = 'recycle_in';

/**
 * How a graph's cache tensors are laid out (a manifest entry's "kv_layout"; absent means "bsd").
 *
 *   "bsd"   past_key_i, past_value_i (B, P, H·Dh): the rows' first P positions, P the longest row's
 *           length; new_key_i, new_value_i (B, T, H·Dh). The exported graphs (spear_t2s/export.py).
 *   "bnsh"  past_key_i, past_value_i (B, H, P, Dh): the engine's own buffers passed whole, P their
 *           capacity; new_key_i, new_value_i (B, H, T, Dh). The entry also says "kv_heads": H and
 *           "max_positions": the positions its rotary table covers (the cache's capacity may not exceed
 *           it). The fused target graphs (native-models/spear_voice/t2s/fused.py).
 *
 * Either way the graph attends to cached positions j < past_len[b] and to new tokens t' <= t, ignores
 * whatever the past holds at or past past_len[b], and reads the same input and output names.
 */
export const KV_LAYOUTS = ['bsd', 'bnsh'] as const;
export type KvLayout = (typeof KV_LAYOUTS)[number];

export const pastKey = (layer: number): string => `past_key_${layer}`;
export const pastValue = (layer: number): string => `past_value_${layer}`;
export const newKey = (layer: number): string => `new_key_${layer}`;
export const newValue = (layer: number): string => `new_value_${layer}`;
/** A cache tensor's name (past or new, key or value, any layer): its last dimension is the graph's kv_dim ("bsd"), or kv_dim / kv_heads ("bnsh"). */
export const isCacheTensor = (name: string): boolean => /^(past|new)_(key|value)_\d+$/.test(name);

export const MANIFEST_FORMAT = 'spear-t2s/2';
export const MANIFEST_FILE = 'manifest.json';

export const GRAPH_ROLES = ['full', 'trunk', 'rest', 'exit_head', 'draft', 'eagle', 'layer_skip', 'medusa', 'seed_prophet'] as const;
export type GraphRole = (typeof GRAPH_ROLES)[number];

/** What each role reads and writes besides its cache (the cache names follow from cache_layers). */
export const ROLE_IO: Record<GraphRole, { inputs: readonly string[]; outputs: readonly string[] }> = {
  full: { inputs: [INPUT_IDS, POSITIONS, PAST_LEN], outputs: [LOGITS, HIDDEN_OUT] },
  trunk: { inputs: [INPUT_IDS, POSITIONS, PAST_LEN], outputs: [HIDDEN_OUT] },
  rest: { inputs: [HIDDEN_IN, POSITIONS, PAST_LEN], outputs: [LOGITS, HIDDEN_OUT] },
  exit_head: { inputs: [HIDDEN_IN, POSITIONS, PAST_LEN], outputs: [LOGITS] },
  /** The target's kept sublayers with their own cache (native-models/spear_voice/t2s/layer_skip.py). */
  layer_skip: { inputs: [INPUT_IDS, POSITIONS, PAST_LEN], outputs: [LOGITS] },
  draft: { inputs: [INPUT_IDS, POSITIONS, PAST_LEN], outputs: [LOGITS] },
  eagle: { inputs: [INPUT_IDS, HIDDEN_IN, POSITIONS, PAST_LEN], outputs: [LOGITS, HIDDEN_OUT] },
  /** No cache and no positions: logits (B, T, heads, V), head i's for the token i + 2 past its position. */
  medusa: { inputs: [HIDDEN_IN], outputs: [LOGITS] },
  /**
   * The seed's prophet (native-models/spear_voice/t2s/seed_prophet.py): its own cache within one step, its own
   * positions from 0 (the start token `bos`, read as a projection of hidden_in: the target's h_t).
   */
  seed_prophet: { inputs: [INPUT_IDS, HIDDEN_IN, POSITIONS, PAST_LEN], outputs: [LOGITS] },
};

/** Inputs a role's graph may read besides ROLE_IO's, after them and before its cache. */
export const OPTIONAL_INPUTS: Partial<Record<GraphRole, readonly string[]>> = { full: [TREE_MASK] };

/**
 * The full, ordered input and output name lists a graph of this role with this many cache layers has;
 * `optional`: the role's OPTIONAL_INPUTS the graph reads; `recycle`: an exit head with recycling.
 */
export function expectedNames(
  role: GraphRole,
  cacheLayers: number,
  optional: readonly string[] = [],
  recycle = false,
): { inputs: string[]; outputs: string[] } {
  const inputs = [...ROLE_IO[role].inputs, ...(OPTIONAL_INPUTS[role] ?? []).filter((name) => optional.includes(name))];
  if (recycle) inputs.splice(inputs.indexOf(HIDDEN_IN) + 1, 0, RECYCLE_IN);
  const outputs = [...ROLE_IO[role].outputs];
  for (let i = 0; i < cacheLayers; i++) {
    inputs.push(pastKey(i), pastValue(i));
    outputs.push(newKey(i), newValue(i));
  }
  return { inputs, outputs };
}

/** The drafters whose graphs the manifest's "chains" are built from, and the roles their calls report. */
export const CHAINED_DRAFTERS = ['eagle', 'draft', 'seed_prophet'] as const;
export type ChainedDrafter = (typeof CHAINED_DRAFTERS)[number];
export type ChainRole = `${ChainedDrafter}_chain`;
export const chainRole = (drafter: ChainedDrafter): ChainRole => `${drafter}_chain`;
/** What a graph call reports as its role: a graph of the contract, or a chain. */
export type CallRole = GraphRole | ChainRole;

/**
 * A chain reads what its drafter's graph reads and writes its drafts, each step's logits and the
 * catch-up's cache; a sampled chain also reads one uniform per draft and the temperature's reciprocal.
 * A greedy chain may lack the logits (`withLogits` false): it then serves fixed gamma only.
 */
export function chainNames(drafter: ChainedDrafter, cacheLayers: number, sampled = false, withLogits = true): { inputs: string[]; outputs: string[] } {
  const { inputs, outputs } = expectedNames(drafter, cacheLayers);
  const cache = outputs.filter((name) => name !== LOGITS && name !== HIDDEN_OUT);
  if (sampled) return { inputs: [...inputs, UNIFORMS, INV_TEMPERATURE], outputs: [DRAFTS, DRAFT_LOGITS, ...cache] };
  return { inputs, outputs: withLogits ? [DRAFTS, DRAFT_LOGITS, ...cache] : [DRAFTS, ...cache] };
}
