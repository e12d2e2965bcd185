/**
 * The model manifest (docs/model-contract.md): its types and the checks made once, at load, against
 * the files beside it. Every problem found is reported together in one ModelLoadError.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from '../errors.ts';
import {
  CHAINED_DRAFTERS,
  GRAPH_ROLES,
  HIDDEN_IN,
  HIDDEN_OUT,
  KV_LAYOUTS,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ChainedDrafter,
  type GraphRole,
  type KvLayout,
} from './tensor-names.ts';

export interface GraphEntry {
  file: string;
  sha256: string;
  /** How many layers' keys/values this graph reads and writes. */
  cache_layers: number;
  /** H·Dh of this graph's cache tensors. */
  kv_dim: number;
  /** Width of hidden_in / hidden_out, where the graph has them. */
  hidden_dim?: number;
  inputs: string[];
  outputs: string[];
  /** Layout of the cache tensors (tensor-names.ts, docs/model-contract.md); absent: "bsd". */
  kv_layout?: KvLayout;
  /** "bnsh": attention heads H of the cache (kv_dim = H · Dh). */
  kv_heads?: number;
  /** "bnsh": positions the graph's rotary table covers; the cache's capacity may not exceed it. */
  max_positions?: number;
  /**
   * The fewest new positions a call may feed (default 1): the engine pads shorter calls. The int8 target
   * (native-models/spear_voice/t2s/fused.py --int8) says 2: its outputs for a position are the same bit
   * for bit whatever the number of positions fed with it, from 2 on.
   */
  min_tokens?: number;
  /** The most rows one call may feed (default: any); the engine splits a batch into calls of this many. */
  rows_per_call?: number;
  /**
   * false: the graph reads tree_mask, but a draft tree's tokens may not score bit for bit as the same
   * tokens fed as a chain (the int8 target: a node's cache position differs from its chain position,
   * and quantised activations make the rounding visible); the engine verifies no tree with it.
   */
  trees?: boolean;
  /**
   * false: a row's outputs depend on the other rows of its call (the int8 drafters of
   * native-models/spear_voice/t2s/quantize.py quantise a call's activations with one scale for all its
   * rows). When a decode samples, where drafts decide which draws a row makes, the engine then calls
   * the graph one row at a time, so a row decodes the same in any batch; greedy decodes batch it.
   * Default true.
   */
  row_invariant?: boolean;
  /** `layer_skip`: the target's blocks whose attention, and whose MLP, the graph skips. */
  skip?: { attention: number[]; mlp: number[] };
  /** `medusa`: its heads, the most drafts per step (logits are (B, T, heads, V)). */
  heads?: number;
  /** `exit_head`: it recycles, reading `recycle_in` (native-models/spear_voice/t2s/recycle.py). */
  recycle?: boolean;
  /**
   * Set when `file` was derived from another graph: the graph the export parity-checked, and how
   * (`quantization`: the drafters' int8 weights, native-models/spear_voice/t2s/quantize.py;
   * `construction`: the fused target graphs, native-models/spear_voice/t2s/fused.py, and `layer_skip`,
   * native-models/spear_voice/t2s/layer_skip.py).
   */
  source?: { file: string; sha256: string; quantization?: string; construction?: string };
}

/** A file the manifest names, with its hash. */
export interface FileRef {
  file: string;
  sha256: string;
}

/**
 * A drafter graph's (`eagle`, `draft`) drafts in one call per verification step, batch 1
 * (native-models/spear_voice/t2s/chain.py): one greedy graph per gamma, and optionally a sampled one beside
 * it, all reading one weights file.
 */
export interface ChainEntry {
  /** Rows a chain call takes: 1. */
  batch: number;
  cache_layers: number;
  kv_dim: number;
  hidden_dim?: number;
  inputs: string[];
  outputs: string[];
  /** The initializers every chain reads (ONNX external data). */
  weights: FileRef;
  /** gamma (as a string key) → that chain's graph. */
  gammas: Record<string, FileRef>;
  source?: { file: string; sha256: string; construction: string };
  /** Chains that draw each draft from softmax(logits / temperature) instead of taking its argmax; same weights file. */
  sampled?: SampledChains;
}

/** A drafter's sampled chains: they also read `uniforms` and `inv_temperature` and write `draft_logits`. */
export interface SampledChains {
  inputs: string[];
  outputs: string[];
  gammas: Record<string, FileRef>;
  construction?: string;
}

export interface VocabRange {
  offset: number;
  count: number;
}

export interface Manifest {
  format: string;
  name: string;
  context: number;
  /** The target's width: hidden_dim of full, trunk, rest and exit_head. */
  d_model: number;
  /** The target's attention heads and their width: n_heads · head_dim is the target graphs' kv_dim. */
  n_heads?: number;
  head_dim?: number;
  n_layers: number;
  exit_layer: number;
  exit_blocks: number;
  vocab: {
    size: number;
    special: { pad: number; bos: number; sep: number; eos: number };
    phonemes?: VocabRange;
    units?: VocabRange;
  };
  stop_token: number;
  graphs: Partial<Record<GraphRole, GraphEntry>>;
  /** The name of the target graphs `graphs` holds (full, trunk, rest), e.g. "int8"; absent: unnamed. */
  target?: string;
  /**
   * Other builds of the same target, by name, e.g. "float32": entries that replace `graphs`' full, trunk
   * and rest when a model is loaded with that target (LoadOptions.target). Each is one target for every
   * strategy, so greedy speculation equals `ar` within it; two targets may read a sentence differently.
   */
  targets?: Record<string, Partial<Record<TargetRole, GraphEntry>>>;
  /** Optional one-call drafting; a model without it drafts one call per token. */
  chains?: Partial<Record<ChainedDrafter, ChainEntry>>;
  training?: unknown;
  code_commit?: string;
}

/** A manifest plus the bytes of each graph it names, hashes already checked. */
export interface LoadedManifest {
  dir: string;
  manifestPath: string;
  manifest: Manifest;
  graphBytes: Partial<Record<GraphRole, Uint8Array>>;
  /** Each drafter's chain graphs by gamma (their weights file checked, not kept: ONNX Runtime reads it). */
  chainBytes: Map<ChainedDrafter, Map<number, Uint8Array>>;
  /** Each drafter's sampled chain graphs by gamma. */
  sampledChainBytes: Map<ChainedDrafter, Map<number, Uint8Array>>;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** The format whose graph role, chains and default strategy `prophet` are this format's `eagle`; nothing else differs. */
export const MANIFEST_FORMAT_1 = 'spear-t2s/1';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `record` with its key `from` named `to`, other keys in their order; anything else as it is. */
function renameKey(record: unknown, from: string, to: string): unknown {
  if (!isRecord(record) || !(from in record)) return record;
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key === from ? to : key, value]));
}

/**
 * A parsed manifest in this format: a `spear-t2s/1` manifest (its EAGLE drafter's graph role, chains and
 * the voice's default strategy named `prophet`) is read as the `spear-t2s/2` manifest it equals; any
 * other value is returned as it is, for manifestProblems to judge.
 */
export function upgradeManifest(value: unknown): unknown {
  if (!isRecord(value) || value.format !== MANIFEST_FORMAT_1) return value;
  const voice = value.voice;
  return {
    ...value,
    format: MANIFEST_FORMAT,
    graphs: renameKey(value.graphs, 'prophet', 'eagle'),
    ...(value.chains === undefined ? {} : { chains: renameKey(value.chains, 'prophet', 'eagle') }),
    ...(isRecord(voice) && voice.default_strategy === 'prophet' ? { voice: { ...voice, default_strategy: 'eagle' } } : {}),
  };
}

/** Structural checks of a parsed manifest; returns the problems found (empty when fine). */
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  if (m.format !== MANIFEST_FORMAT) problems.push(`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
  for (const key of ['context', 'd_model', 'n_layers', 'exit_layer', 'exit_blocks', 'stop_token'] as const) {
    if (!isInt(m[key])) problems.push(`"${key}" must be an integer`);
  }
  if (!m.vocab || !isInt(m.vocab.size) || m.vocab.size < 2) problems.push('"vocab.size" must be an integer ≥ 2');
  else if (isInt(m.stop_token) && (m.stop_token < 0 || m.stop_token >= m.vocab.size)) {
    problems.push(`stop_token ${m.stop_token} is outside the vocabulary [0, ${m.vocab.size})`);
  }
  if (!m.graphs || typeof m.graphs !== 'object') {
    problems.push('"graphs" is missing');
    return problems;
  }
  for (const [role, g] of Object.entries(m.graphs)) {
    if (!(GRAPH_ROLES as readonly string[]).includes(role)) {
      problems.push(`graph role "${role}" is unknown (known: ${GRAPH_ROLES.join(', ')})`);
      continue;
    }
    if (!g || typeof g.file !== 'string') problems.push(`graph "${role}" lacks "file"`);
    else if (typeof g.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(g.sha256)) problems.push(`graph "${role}" lacks a sha256`);
    if (g && (!isInt(g.cache_layers) || !isInt(g.kv_dim))) problems.push(`graph "${role}" needs integer "cache_layers" and "kv_dim"`);
    if (g) problems.push(...layoutProblems(role, g, m.context));
    if (g && role === 'medusa' && !(isInt(g.heads) && g.heads >= 1)) problems.push('graph "medusa" needs "heads", an integer ≥ 1');
    if (g?.row_invariant !== undefined && typeof g.row_invariant !== 'boolean') {
      problems.push(`graph "${role}" has "row_invariant" ${JSON.stringify(g.row_invariant)}: true, false or absent`);
    }
    if (g?.recycle !== undefined && (role !== 'exit_head' || typeof g.recycle !== 'boolean')) {
      problems.push(`graph "${role}" says "recycle": ${JSON.stringify(g.recycle)}; only "exit_head" may, and only true or false`);
    }
  }
  if (!m.graphs.full) problems.push('graph "full" is required');
  if (m.target !== undefined && (typeof m.target !== 'string' || m.target === '')) problems.push('"target" must be a name');
  if (m.targets !== undefined && !(isRecord(m.targets) && Object.values(m.targets).every(isRecord))) {
    problems.push('"targets" must map names to graph entries of full, trunk and rest');
  }
  problems.push(...chainProblems(m));
  if (problems.length === 0) problems.push(...widthProblems(m));
  return problems;
}

/** The graphs that run the target's own layers, at its width. */
const TARGET_WIDTH_ROLES: readonly GraphRole[] = ['full', 'trunk', 'rest', 'exit_head', 'layer_skip'];

/** Graphs that read hidden states (hidden_in) and the graph whose hidden_out they read. */
const HIDDEN_SOURCES: ReadonlyArray<readonly [reader: GraphRole, writer: GraphRole]> = [
  ['eagle', 'full'],
  ['medusa', 'full'],
  ['seed_prophet', 'full'],
  ['rest', 'trunk'],
  ['exit_head', 'trunk'],
];

/**
 * The widths the manifest declares, checked against each other: every graph with hidden_in or
 * hidden_out declares hidden_dim; the target's graphs have hidden_dim = d_model and kv_dim = n_heads ·
 * head_dim; a graph reads hidden states as wide as the graph that writes them; a chain has its
 * drafter's widths. (Each session's tensor shapes are checked against these in model.ts.)
 */
function widthProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const graphs = m.graphs;
  const name = (role: string): string => `graph "${role}" (${graphs[role as GraphRole]?.file})`;
  const positive = (v: unknown): v is number => isInt(v) && v > 0;
  for (const [role, g] of Object.entries(graphs) as [GraphRole, GraphEntry][]) {
    const readsOrWritesHidden = (g.inputs ?? []).includes(HIDDEN_IN) || (g.outputs ?? []).includes(HIDDEN_OUT);
    if (readsOrWritesHidden && !positive(g.hidden_dim)) problems.push(`${name(role)} reads or writes hidden states but declares no integer "hidden_dim"`);
    if (g.cache_layers > 0 && !positive(g.kv_dim)) problems.push(`${name(role)} has a cache but "kv_dim" is ${g.kv_dim}`);
  }
  const kvDim = positive(m.n_heads) && positive(m.head_dim) ? m.n_heads * m.head_dim : undefined;
  for (const role of TARGET_WIDTH_ROLES) {
    const g = graphs[role];
    if (!g) continue;
    if (g.hidden_dim !== undefined && g.hidden_dim !== m.d_model) {
      problems.push(`${name(role)} declares hidden_dim ${g.hidden_dim}, but the target's d_model is ${m.d_model}`);
    }
    if (kvDim !== undefined && g.cache_layers > 0 && g.kv_dim !== kvDim) {
      problems.push(`${name(role)} declares kv_dim ${g.kv_dim}, but the target's n_heads × head_dim is ${m.n_heads} × ${m.head_dim} = ${kvDim}`);
    }
  }
  for (const [reader, writer] of HIDDEN_SOURCES) {
    const r = graphs[reader];
    const w = graphs[writer];
    if (r && w && r.hidden_dim !== w.hidden_dim) {
      problems.push(
        `${name(reader)} reads hidden states of width ${r.hidden_dim}, but ${name(writer)}, which writes them, declares hidden_dim ${w.hidden_dim}`,
      );
    }
  }
  for (const drafter of CHAINED_DRAFTERS) {
    const c = m.chains?.[drafter];
    const g = graphs[drafter];
    if (!c || !g) continue;
    if (c.kv_dim !== g.kv_dim) problems.push(`chains of "${drafter}" declare kv_dim ${c.kv_dim}, but ${name(drafter)} declares ${g.kv_dim}`);
    if (c.hidden_dim !== g.hidden_dim)
      problems.push(`chains of "${drafter}" declare hidden_dim ${c.hidden_dim}, but ${name(drafter)} declares ${g.hidden_dim}`);
  }
  return problems;
}

function layoutProblems(role: string, g: GraphEntry, context: number): string[] {
  if (g.kv_layout === undefined) return [];
  if (!(KV_LAYOUTS as readonly string[]).includes(g.kv_layout))
    return [`graph "${role}" has kv_layout ${JSON.stringify(g.kv_layout)} (known: ${KV_LAYOUTS.join(', ')})`];
  if (g.kv_layout !== 'bnsh') return [];
  const problems: string[] = [];
  if (g.trees !== undefined && typeof g.trees !== 'boolean') problems.push(`graph "${role}" has "trees" ${JSON.stringify(g.trees)}: true, false or absent`);
  for (const key of ['min_tokens', 'rows_per_call'] as const) {
    if (g[key] !== undefined && !(isInt(g[key]) && g[key] >= 1))
      problems.push(`graph "${role}" has "${key}" ${JSON.stringify(g[key])}: a positive integer or absent`);
  }
  if (!isInt(g.kv_heads) || g.kv_heads < 1 || (isInt(g.kv_dim) && g.kv_dim % g.kv_heads !== 0)) {
    problems.push(`graph "${role}" has kv_layout "bnsh" and needs "kv_heads", an integer dividing kv_dim`);
  }
  // A decode's cache holds up to context + gamma + 1 positions, gamma ≤ 64 (decode.ts).
  if (!isInt(g.max_positions) || !(g.max_positions >= context + 65)) {
    problems.push(`graph "${role}" has kv_layout "bnsh" and needs an integer "max_positions" of at least context + 65 (${context + 65})`);
  }
  return problems;
}

const isRef = (v: unknown): v is FileRef =>
  typeof v === 'object' && v !== null && typeof (v as FileRef).file === 'string' && /^[0-9a-f]{64}$/.test(String((v as FileRef).sha256));

function chainProblems(m: Manifest): string[] {
  if (m.chains === undefined) return [];
  if (typeof m.chains !== 'object' || m.chains === null) return ['"chains" must be an object'];
  const problems: string[] = [];
  for (const [drafter, c] of Object.entries(m.chains)) {
    if (!(CHAINED_DRAFTERS as readonly string[]).includes(drafter)) {
      problems.push(`chains of "${drafter}" are unknown (known: ${CHAINED_DRAFTERS.join(', ')})`);
      continue;
    }
    if (!m.graphs[drafter as ChainedDrafter]) problems.push(`chains of "${drafter}" need the "${drafter}" graph`);
    if (c?.batch !== 1) problems.push(`chains of "${drafter}" must say "batch": 1`);
    if (!c || !isInt(c.cache_layers) || !isInt(c.kv_dim)) problems.push(`chains of "${drafter}" need integer "cache_layers" and "kv_dim"`);
    if (!c || !isRef(c.weights)) problems.push(`chains of "${drafter}" lack "weights" with a file and a sha256`);
    problems.push(...gammaProblems(c?.gammas, `chains of "${drafter}"`, `chain`, drafter));
    if (c?.sampled !== undefined) problems.push(...gammaProblems(c.sampled?.gammas, `sampled chains of "${drafter}"`, 'sampled chain', drafter));
  }
  return problems;
}

function gammaProblems(gammaMap: unknown, what: string, one: string, drafter: string): string[] {
  const problems: string[] = [];
  const gammas = typeof gammaMap === 'object' && gammaMap !== null ? Object.entries(gammaMap) : [];
  if (gammas.length === 0) problems.push(`${what} list no "gammas"`);
  for (const [gamma, ref] of gammas) {
    if (!/^[1-9][0-9]*$/.test(gamma)) problems.push(`${one} gamma "${gamma}" of "${drafter}" is not a positive integer`);
    if (!isRef(ref)) problems.push(`${one} gamma ${gamma} of "${drafter}" lacks a file and a sha256`);
  }
  return problems;
}

/** The graphs a target build replaces (Manifest.targets). */
export const TARGET_GRAPH_ROLES = ['full', 'trunk', 'rest'] as const;
export type TargetRole = (typeof TARGET_GRAPH_ROLES)[number];

/** The names a model can be loaded with (LoadOptions.target): its own target's and its other builds'. */
export function targetNames(m: Manifest): string[] {
  return [...(m.target ? [m.target] : []), ...Object.keys(m.targets ?? {})];
}

/**
 * The manifest with `target`'s graphs in place of full, trunk and rest (its own target: unchanged).
 * An unknown name is a one-line ModelLoadError naming the known ones.
 */
function withTarget(m: Manifest, target: string | undefined, manifestPath: string): Manifest {
  if (target === undefined || target === m.target) return m;
  const entries = isRecord(m.targets) ? m.targets[target] : undefined;
  if (!isRecord(entries)) {
    const known = targetNames(m);
    throw new ModelLoadError(manifestPath, [`has no target "${target}" (${known.length > 0 ? `known: ${known.join(', ')}` : 'it names none'})`]);
  }
  const unknown = Object.keys(entries).filter((role) => !(TARGET_GRAPH_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0)
    throw new ModelLoadError(manifestPath, [`target "${target}" names ${unknown.join(', ')}; a target has ${TARGET_GRAPH_ROLES.join(', ')}`]);
  return { ...m, target, graphs: { ...m.graphs, ...entries } };
}

/**
 * Reads manifest.json in `dir`, reads every graph file and checks its hash. `target` picks one of the
 * manifest's target builds (Manifest.targets) for full, trunk and rest.
 */
export async function readManifest(dir: string, target?: string): Promise<LoadedManifest> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new ModelLoadError(manifestPath, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); is this a model directory?`]);
  }
  let manifest: Manifest;
  try {
    manifest = upgradeManifest(JSON.parse(text)) as Manifest;
  } catch (error) {
    throw new ModelLoadError(manifestPath, [`is not valid JSON (${(error as Error).message})`]);
  }
  manifest = withTarget(manifest, target, manifestPath);
  const problems = manifestProblems(manifest);
  if (problems.length > 0) throw new ModelLoadError(manifestPath, problems);

  const graphBytes: Partial<Record<GraphRole, Uint8Array>> = {};
  const fileProblems: string[] = [];
  for (const role of GRAPH_ROLES) {
    const entry = manifest.graphs[role];
    if (!entry) continue;
    const bytes = await readChecked(dir, entry, `graph "${role}"`, fileProblems);
    if (bytes) graphBytes[role] = bytes;
  }
  const chainBytes = new Map<ChainedDrafter, Map<number, Uint8Array>>();
  const sampledChainBytes = new Map<ChainedDrafter, Map<number, Uint8Array>>();
  for (const drafter of CHAINED_DRAFTERS) {
    const chain = manifest.chains?.[drafter];
    if (!chain) continue;
    const weights = await readChecked(dir, chain.weights, `the weights of the ${drafter} chains`, fileProblems);
    const read = async (gammas: Record<string, FileRef>, what: string): Promise<Map<number, Uint8Array>> => {
      const byGamma = new Map<number, Uint8Array>();
      for (const [gamma, ref] of Object.entries(gammas)) {
        const bytes = await readChecked(dir, ref, `the ${drafter} ${what} of gamma ${gamma}`, fileProblems);
        if (bytes && weights) byGamma.set(Number(gamma), bytes);
      }
      return byGamma;
    };
    chainBytes.set(drafter, await read(chain.gammas, 'chain'));
    if (chain.sampled) sampledChainBytes.set(drafter, await read(chain.sampled.gammas, 'sampled chain'));
  }
  if (fileProblems.length > 0) throw new ModelLoadError(manifestPath, fileProblems);
  return { dir, manifestPath, manifest, graphBytes, chainBytes, sampledChainBytes };
}

/** A file's bytes when its hash is the manifest's; otherwise null and a problem naming it. */
async function readChecked(dir: string, ref: FileRef, what: string, problems: string[]): Promise<Uint8Array | null> {
  const file = path.join(dir, ref.file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    problems.push(`${what}: ${file} is missing (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    return null;
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== ref.sha256) {
    problems.push(`${what}: ${file} has sha256 ${digest.slice(0, 12)}…, the manifest says ${ref.sha256.slice(0, 12)}… (file changed or corrupt)`);
    return null;
  }
  return bytes;
}
