/**
 * One ONNX graph of the contract and the only place that builds its feeds. A call feeds each active
 * row its own number of new tokens (right-padded to the longest), writes the real tokens' new keys
 * and values into the row's cache slot, and returns the outputs.
 */
import ort from 'onnxruntime-node';
import type { GraphCache, KvCache } from './kv-cache.ts';
import type { GraphEntry } from './manifest.ts';
import type { TreeShape } from './tree.ts';
import {
  DRAFT_LOGITS,
  DRAFTS,
  HIDDEN_IN,
  HIDDEN_OUT,
  INPUT_IDS,
  INV_TEMPERATURE,
  LOGITS,
  PAST_LEN,
  POSITIONS,
  RECYCLE_IN,
  TREE_MASK,
  UNIFORMS,
  newKey,
  newValue,
  pastKey,
  pastValue,
  type CallRole,
} from './tensor-names.ts';

/** What one graph call did for one row: reported to `onGraphCall` listeners (tests count trunk passes with it). */
export interface GraphCall {
  role: CallRole;
  row: number;
  positions: number[];
  tokens: number[] | null;
}

export interface GraphFeed {
  /** Active rows (slots 0 … rows-1). */
  rows: number;
  /** New tokens per slot (0 is allowed: the slot is padded and its cache is untouched). */
  counts: ArrayLike<number>;
  /** Token id of slot's i-th new token, for graphs that read input_ids. */
  tokenAt?: (slot: number, i: number) => number;
  /** Writes the slot's i-th hidden_in vector into `out` at `offset`, for graphs that read hidden_in. */
  hiddenAt?: (slot: number, i: number, out: Float32Array, offset: number) => void;
  /** Writes the slot's i-th recycle_in vector, for an exit head with recycling. */
  recycleAt?: (slot: number, i: number, out: Float32Array, offset: number) => void;
  /** Logical row id of each slot, for the call log. */
  rowIds?: ArrayLike<number>;
  /** A sampled chain's draws: one uniform per draft (one row) and the temperature. */
  sampling?: { uniforms: ArrayLike<number>; temperature: number };
  /** A graph without a cache (medusa): the position of each slot's first new token, for the call log. Default 0. */
  starts?: ArrayLike<number>;
  /**
   * Draft trees (graphs that read tree_mask): a slot with a tree is fed its nodes, count = the tree's
   * size; node i sits at position start + depth(i) and attends its ancestors and itself. Slots without
   * one (null, or no `trees`) are fed a causal run of positions.
   */
  trees?: ArrayLike<TreeShape | null>;
}

export interface GraphResult {
  /** Padded new-token count of this call; outputs are (rows, T, …). */
  T: number;
  logits: Float32Array | null;
  hidden: Float32Array | null;
  /** A chain's drafts, (rows, gamma). */
  drafts: BigInt64Array | null;
  /** A chain's logits of each step, (1, gamma, V): every sampled chain's, and a greedy chain's that has them. */
  draftLogits: Float32Array | null;
}

export class Graph {
  readonly hasTokens: boolean;
  readonly hasHidden: boolean;
  /** An exit head with recycling: reads recycle_in beside hidden_in. */
  readonly hasRecycle: boolean;
  /** Reads positions and past_len (every graph with a cache; medusa reads neither). */
  readonly hasPositions: boolean;
  readonly hasLogits: boolean;
  readonly hasHiddenOut: boolean;
  readonly hasDrafts: boolean;
  /** A chain that returns each step's logits (sampled chains always; greedy ones built for adaptive gamma). */
  readonly hasDraftLogits: boolean;
  /** A sampled chain: reads uniforms and the temperature, writes each step's logits. */
  readonly sampled: boolean;
  /** Reads tree_mask: can verify a draft tree in one call (GraphFeed.trees). */
  readonly hasTreeMask: boolean;
  /** Session runs so far and the wall time spent inside them, for overhead accounting. */
  runs = 0;
  runMs = 0;
  onCall: ((call: GraphCall) => void) | null = null;
  /**
   * Set by a decode that samples: a graph whose entry says `row_invariant: false` is then called one row
   * at a time (GraphEntry.row_invariant), as one whose entry says `rows_per_call: 1`.
   */
  sampling = false;

  constructor(
    readonly role: CallRole,
    readonly session: ort.InferenceSession,
    readonly entry: GraphEntry,
  ) {
    this.hasTokens = entry.inputs.includes(INPUT_IDS);
    this.hasHidden = entry.inputs.includes(HIDDEN_IN);
    this.hasRecycle = entry.inputs.includes(RECYCLE_IN);
    this.hasPositions = entry.inputs.includes(POSITIONS);
    this.hasLogits = entry.outputs.includes(LOGITS);
    this.hasHiddenOut = entry.outputs.includes(HIDDEN_OUT);
    this.hasDrafts = entry.outputs.includes(DRAFTS);
    this.hasDraftLogits = entry.outputs.includes(DRAFT_LOGITS);
    this.sampled = entry.inputs.includes(UNIFORMS);
    this.hasTreeMask = entry.inputs.includes(TREE_MASK);
  }

  get cacheLayers(): number {
    return this.entry.cache_layers;
  }

  get hiddenDim(): number {
    return this.entry.hidden_dim ?? 0;
  }

  /**
   * `cache` is null for a graph without one (medusa): nothing is kept between its calls. A graph whose
   * entry limits its rows per call (or, while sampling, one that is not row-invariant) is called once per
   * group of that many rows, and the groups' outputs are laid out as one call's would be.
   */
  async run(cache: KvCache | null, feed: GraphFeed): Promise<GraphResult> {
    const perCall = this.sampling && this.entry.row_invariant === false ? 1 : this.entry.rows_per_call;
    if (perCall === undefined || feed.rows <= perCall) return this.runOnce(cache, feed);
    const parts: { first: number; n: number; result: GraphResult }[] = [];
    for (let first = 0; first < feed.rows; first += perCall) {
      const n = Math.min(perCall, feed.rows - first);
      parts.push({ first, n, result: await this.runOnce(cache ? cache.window(first, n) : null, rowsOf(feed, first, n)) });
    }
    const T = Math.max(...parts.map((p) => p.result.T));
    if (T === 0) return parts[0].result;
    const called = parts.filter((p) => p.result.T > 0);
    // Each group's (n, T_group, width) outputs into the (rows, T, width) layout of one call.
    const join = (pick: (r: GraphResult) => Float32Array | null): Float32Array | null => {
      if (called.some((p) => pick(p.result) === null)) return null;
      const width = pick(called[0].result)!.length / (called[0].n * called[0].result.T);
      const out = new Float32Array(feed.rows * T * width);
      for (const { first, n, result } of called) {
        const data = pick(result)!;
        const block = result.T * width;
        for (let r = 0; r < n; r++) out.set(data.subarray(r * block, (r + 1) * block), (first + r) * T * width);
      }
      return out;
    };
    return { T, logits: join((r) => r.logits), hidden: join((r) => r.hidden), drafts: null, draftLogits: null };
  }

  private async runOnce(cache: GraphCache | null, feed: GraphFeed): Promise<GraphResult> {
    const { rows, counts } = feed;
    let T = 0;
    for (let s = 0; s < rows; s++) T = Math.max(T, counts[s]);
    if (T === 0) return { T, logits: new Float32Array(0), hidden: new Float32Array(0), drafts: null, draftLogits: null };
    // A graph that reads at least min_tokens positions per call: the rows are padded further.
    T = Math.max(T, this.entry.min_tokens ?? 1);
    const feeds: Record<string, ort.Tensor> = {};
    const startOf = (s: number): number => (cache ? cache.lengths[s] : (feed.starts?.[s] ?? 0));
    const treeOf = (s: number): TreeShape | null => feed.trees?.[s] ?? null;
    if (feed.trees && !this.hasTreeMask) throw new RangeError(`graph "${this.role}" (${this.entry.file}) reads no ${TREE_MASK}: it cannot verify a draft tree`);
    // Offset of slot's i-th new token from its first: i, or its depth in the slot's tree.
    const offsetOf = (s: number, i: number): number => treeOf(s)?.depths[i] ?? i;
    if (this.hasPositions) {
      const positions = new BigInt64Array(rows * T);
      const pastLen = new BigInt64Array(rows);
      for (let s = 0; s < rows; s++) {
        const start = startOf(s);
        pastLen[s] = BigInt(start);
        // Padded indices repeat the row's last real position: their outputs are ignored, and a fused
        // graph's rotary table ends at its max_positions.
        const last = Math.max(0, counts[s] - 1);
        for (let t = 0; t < T; t++) positions[s * T + t] = BigInt(start + offsetOf(s, Math.min(t, last)));
      }
      feeds[POSITIONS] = new ort.Tensor('int64', positions, [rows, T]);
      feeds[PAST_LEN] = new ort.Tensor('int64', pastLen, [rows]);
    }
    if (this.hasTreeMask) {
      // Causal (t' <= t) for every slot and every padded index; a tree's nodes attend their ancestors.
      const mask = new Uint8Array(rows * T * T);
      for (let s = 0; s < rows; s++) {
        const tree = treeOf(s);
        if (tree && counts[s] !== tree.size) throw new RangeError(`slot ${s} is fed ${counts[s]} new tokens; its tree has ${tree.size} nodes`);
        for (let t = 0; t < T; t++) {
          const base = (s * T + t) * T;
          if (tree && t < tree.size) for (let u = 0; u <= t; u++) mask[base + u] = tree.attends(t, u) ? 1 : 0;
          else mask.fill(1, base, base + t + 1);
        }
      }
      feeds[TREE_MASK] = new ort.Tensor('bool', mask, [rows, T, T]);
    }
    let tokensForLog: number[][] | null = null;
    if (this.hasTokens) {
      const ids = new BigInt64Array(rows * T);
      tokensForLog = [];
      for (let s = 0; s < rows; s++) {
        const rowTokens: number[] = [];
        for (let t = 0; t < counts[s]; t++) {
          const id = feed.tokenAt!(s, t);
          ids[s * T + t] = BigInt(id);
          rowTokens.push(id);
        }
        tokensForLog.push(rowTokens);
      }
      feeds[INPUT_IDS] = new ort.Tensor('int64', ids, [rows, T]);
    }
    if (this.hasHidden) {
      const D = this.hiddenDim;
      const hidden = new Float32Array(rows * T * D);
      for (let s = 0; s < rows; s++) {
        for (let t = 0; t < counts[s]; t++) feed.hiddenAt!(s, t, hidden, (s * T + t) * D);
      }
      feeds[HIDDEN_IN] = new ort.Tensor('float32', hidden, [rows, T, D]);
    }
    if (this.hasRecycle) {
      const D = this.hiddenDim;
      const recycled = new Float32Array(rows * T * D);
      for (let s = 0; s < rows; s++) {
        for (let t = 0; t < counts[s]; t++) feed.recycleAt!(s, t, recycled, (s * T + t) * D);
      }
      feeds[RECYCLE_IN] = new ort.Tensor('float32', recycled, [rows, T, D]);
    }
    if (this.sampled) {
      const { uniforms, temperature } = feed.sampling!;
      feeds[UNIFORMS] = new ort.Tensor('float32', Float32Array.from(uniforms), [1, uniforms.length]);
      feeds[INV_TEMPERATURE] = new ort.Tensor('float32', Float32Array.of(1 / temperature), [1]);
    }
    // NOTE: the past tensors wrap the engine's buffers without a copy: a "bnsh" cache passes its active
    // slots whole; a "bsd" cache one row's used prefix, or for several rows KvCache.pastView copies each
    // row's first P positions (P = the longest row's length) into a scratch block, rows × P × kvDim floats
    // per layer for keys and again for values, unless a row fills the capacity.
    if (cache && cache.layers > 0) {
      const past = cache.pastView(rows);
      for (let layer = 0; layer < cache.layers; layer++) {
        feeds[pastKey(layer)] = new ort.Tensor('float32', past.keys[layer], past.dims);
        feeds[pastValue(layer)] = new ort.Tensor('float32', past.values[layer], past.dims);
      }
    }

    const t0 = performance.now();
    const out = await this.session.run(feeds);
    this.runMs += performance.now() - t0;
    this.runs++;

    if (this.onCall) {
      for (let s = 0; s < rows; s++) {
        if (counts[s] === 0) continue;
        const start = startOf(s);
        this.onCall({
          role: this.role,
          row: feed.rowIds ? feed.rowIds[s] : s,
          positions: Array.from({ length: counts[s] }, (_, i) => start + offsetOf(s, i)),
          tokens: tokensForLog ? tokensForLog[s] : null,
        });
      }
    }
    if (cache && cache.layers > 0) {
      const keys: Float32Array[] = [];
      const values: Float32Array[] = [];
      for (let layer = 0; layer < cache.layers; layer++) {
        keys.push(out[newKey(layer)].data as Float32Array);
        values.push(out[newValue(layer)].data as Float32Array);
      }
      // A draft chain also returns the keys of the positions it drafted (one row): keep them all.
      const outT = out[newKey(0)].dims[cache.tokenAxis];
      const extra = outT - T;
      for (let s = 0; s < rows; s++) if (counts[s] > 0) cache.append(s, keys, values, s, outT, counts[s] + extra);
    } else if (cache) {
      for (let s = 0; s < rows; s++) cache.lengths[s] += counts[s];
    }
    return {
      T,
      logits: this.hasLogits ? (out[LOGITS].data as Float32Array) : null,
      hidden: this.hasHiddenOut ? (out[HIDDEN_OUT].data as Float32Array) : null,
      drafts: this.hasDrafts ? (out[DRAFTS].data as BigInt64Array) : null,
      draftLogits: this.hasDraftLogits ? (out[DRAFT_LOGITS].data as Float32Array) : null,
    };
  }
}

/** Rows first … first + n − 1 of a feed, as a feed of their own (their slot s is the feed's first + s). */
function rowsOf(feed: GraphFeed, first: number, n: number): GraphFeed {
  const slice = <T>(a: ArrayLike<T> | undefined): T[] | undefined => (a ? Array.from({ length: n }, (_, i) => a[first + i]) : undefined);
  if (feed.sampling) throw new RangeError('a sampled chain is called for one row');
  return {
    rows: n,
    counts: slice(feed.counts)!,
    tokenAt: feed.tokenAt && ((s, i) => feed.tokenAt!(first + s, i)),
    hiddenAt: feed.hiddenAt && ((s, i, out, offset) => feed.hiddenAt!(first + s, i, out, offset)),
    recycleAt: feed.recycleAt && ((s, i, out, offset) => feed.recycleAt!(first + s, i, out, offset)),
    rowIds: Array.from({ length: n }, (_, i) => (feed.rowIds ? feed.rowIds[first + i] : first + i)),
    starts: slice(feed.starts),
    trees: slice(feed.trees),
  };
}
