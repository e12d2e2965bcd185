/**
 * Loading a model directory: manifest and hashes (manifest.ts), one ONNX Runtime session per graph on
 * the requested execution provider, and the contract check of every session's input/output names.
 * The only silent-looking fallback in the engine lives here, and it is reported: a GPU provider that
 * cannot start falls back to CPU and `provider.fallbackReason` says why.
 */
import ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelLoadError, ProviderError, VocabularyMismatchError } from '../errors.ts';
import { ChainSet } from './chain-set.ts';
import { Graph } from './graph.ts';
import { readManifest, type FileRef, type GraphEntry, type LoadedManifest, type Manifest } from './manifest.ts';
import {
  CHAINED_DRAFTERS,
  DRAFT_LOGITS,
  GRAPH_ROLES,
  HIDDEN_IN,
  HIDDEN_OUT,
  LOGITS,
  RECYCLE_IN,
  chainNames,
  chainRole,
  expectedNames,
  isCacheTensor,
  pastKey,
  type ChainRole,
  type ChainedDrafter,
  type GraphRole,
} from './tensor-names.ts';

export const PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface LoadOptions {
  /** Execution provider to try first; CPU is the fallback. Default 'cpu'. */
  provider?: Provider;
  /** Intra-op threads per session; 0 lets ONNX Runtime choose. Default 1 (small graphs run fastest single-threaded, see docs/engine.md). */
  threads?: number;
  /**
   * Intra-op threads of the graphs that only verify (full, rest), several positions per
   * call; default `threads`. The drafters' small graphs lose time to a thread pool, the target's gain.
   */
  targetThreads?: number;
  /** Which graphs to load; default every graph in the manifest. */
  roles?: readonly GraphRole[];
  /** Take the `draft` graph from this other model directory (its vocabulary must equal the target's). */
  draftDir?: string;
  /** Which build of the target to load (the manifest's "target", or a key of its "targets"); default its own. */
  target?: string;
}

export type Chains = Record<ChainedDrafter, ChainSet>;

export interface ProviderReport {
  requested: Provider;
  used: Provider;
  /** Why the requested provider was not used; absent when it was. */
  fallbackReason?: string;
}

export interface LoadedModel {
  dir: string;
  manifest: Manifest;
  vocabSize: number;
  graphs: Partial<Record<GraphRole, Graph>>;
  /** Each model drafter's one-call drafting by gamma (batch 1; greedy, and sampled with temperature alone), sessions created on first use; empty where the model has none. */
  chains: Chains;
  provider: ProviderReport;
  release(): Promise<void>;
}

/**
 * Providers this onnxruntime-node install can offer: the bundled ones (CPU, WebGPU), and CUDA only
 * where its provider library was installed (the opt-in download, see README). A listed provider can
 * still fail to start (no adapter, no driver); loadModel then falls back to CPU and says why.
 */
export function availableProviders(): Provider[] {
  const supported = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return PROVIDERS.filter((p) => supported.some((b) => b.name === p && (b.bundled || nativeLibraryPresent(p))));
}

function nativeLibraryPresent(provider: Provider): boolean {
  try {
    const binding = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const dir = path.join(binding, 'bin', 'napi-v6', process.platform, process.arch);
    const ext = process.platform === 'win32' ? 'dll' : 'so';
    const prefix = process.platform === 'win32' ? '' : 'lib';
    return existsSync(path.join(dir, `${prefix}onnxruntime_providers_${provider}.${ext}`));
  } catch {
    return false;
  }
}

/** `externalDataDir`: where the graph's external initializers live (the chains' shared weights file). */
async function createSession(bytes: Uint8Array, provider: Provider, threads: number, externalDataDir?: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // NOTE: a model loaded from bytes finds external data only through this session config entry.
    ...(externalDataDir ? { extra: { session: { model_external_initializers_file_folder_path: path.resolve(externalDataDir) } } } : {}),
  });
}

/** Names and output widths the session has, against what the contract and the manifest say. */
function contractProblems(role: GraphRole | ChainRole, graph: Graph, vocabSize: number, sampled: boolean): string[] {
  const problems: string[] = [];
  const { entry, session } = graph;
  const chained = CHAINED_DRAFTERS.find((d) => chainRole(d) === role);
  const expected = chained
    ? chainNames(chained, entry.cache_layers, sampled, session.outputNames.includes(DRAFT_LOGITS))
    : expectedNames(role as GraphRole, entry.cache_layers, session.inputNames, entry.recycle === true);
  const compare = (kind: 'input' | 'output', actual: readonly string[], declared: readonly string[], wanted: readonly string[]): void => {
    for (const name of wanted) {
      if (!actual.includes(name)) problems.push(`graph "${role}" (${entry.file}) lacks ${kind} "${name}"`);
      if (!declared.includes(name)) problems.push(`manifest entry of graph "${role}" does not list ${kind} "${name}"`);
    }
    for (const name of actual) {
      if (!wanted.includes(name)) problems.push(`graph "${role}" (${entry.file}) has unexpected ${kind} "${name}"`);
    }
  };
  compare('input', session.inputNames, entry.inputs ?? [], expected.inputs);
  compare('output', session.outputNames, entry.outputs ?? [], expected.outputs);
  // The cache layout the manifest names must be the one the graph reads: (B, P, H·Dh) or (B, H, P, Dh).
  const pastMeta = session.inputMetadata?.find?.((m) => m.name === pastKey(0));
  if (pastMeta?.isTensor && entry.cache_layers > 0) {
    const layout = entry.kv_layout ?? 'bsd';
    const rank = layout === 'bnsh' ? 4 : 3;
    if (pastMeta.shape.length !== rank) {
      problems.push(`graph "${role}" (${entry.file}) reads ${pastKey(0)} with ${pastMeta.shape.length} axes; kv_layout "${layout}" has ${rank}`);
    }
  }
  problems.push(...tensorWidthProblems(role, graph));
  const logitsMeta = session.outputMetadata?.find?.((m) => m.name === LOGITS);
  if (logitsMeta?.isTensor) {
    const last = logitsMeta.shape[logitsMeta.shape.length - 1];
    if (typeof last === 'number' && last !== vocabSize) {
      problems.push(`graph "${role}" (${entry.file}) writes logits over ${last} tokens, the manifest's vocabulary has ${vocabSize}`);
    }
    const heads = logitsMeta.shape[logitsMeta.shape.length - 2];
    if (role === 'medusa' && (logitsMeta.shape.length !== 4 || (typeof heads === 'number' && heads !== entry.heads))) {
      problems.push(
        `graph "medusa" (${entry.file}) writes logits of shape [${logitsMeta.shape.join(', ')}]; the manifest declares (B, T, ${entry.heads}, ${vocabSize})`,
      );
    }
  }
  return problems;
}

/** The last dimension of the session's cache and hidden-state tensors, against the manifest's kv_dim and hidden_dim. */
function tensorWidthProblems(role: GraphRole | ChainRole, graph: Graph): string[] {
  const { entry, session } = graph;
  const wrong = new Map<string, string[]>();
  const check = (metadata: readonly ort.InferenceSession.ValueMetadata[] | undefined): void => {
    for (const m of metadata ?? []) {
      if (!m.isTensor) continue;
      // A "bnsh" cache tensor ends in the head width, kv_dim / kv_heads.
      const cacheWidth = entry.kv_layout === 'bnsh' ? ['kv_dim / kv_heads', entry.kv_dim / (entry.kv_heads ?? 1)] : ['kv_dim', entry.kv_dim];
      const hidden = m.name === HIDDEN_IN || m.name === HIDDEN_OUT || m.name === RECYCLE_IN;
      const declared = isCacheTensor(m.name) ? cacheWidth : hidden ? ['hidden_dim', entry.hidden_dim] : null;
      const width = m.shape[m.shape.length - 1];
      if (!declared || typeof width !== 'number' || width === declared[1]) continue;
      const key = `${declared[0]} ${declared[1]}|${width}`;
      wrong.set(key, [...(wrong.get(key) ?? []), m.name]);
    }
  };
  check(session.inputMetadata);
  check(session.outputMetadata);
  return [...wrong].map(([key, names]) => {
    const [declared, width] = key.split('|');
    return `graph "${role}" (${entry.file}) has ${names.join(', ')} of width ${width}, the manifest declares ${declared}`;
  });
}

interface OpenGraph {
  role: GraphRole | ChainRole;
  /** How problems name it: `graph "full"`, `the eagle chain of gamma 3`. */
  what: string;
  entry: GraphEntry;
  bytes: Uint8Array;
  provider: Provider;
  threads: number;
  vocabSize: number;
  /** Where the graph's external initializers live (the chains' shared weights file); default none. */
  externalDataDir?: string;
  /** A sampled chain (its names differ). Default false. */
  sampled?: boolean;
}

/**
 * One session and its contract check. A graph ONNX Runtime cannot load is a problem on CPU; on a GPU
 * provider the error is thrown, and the caller falls back to CPU.
 */
async function openGraph(options: OpenGraph): Promise<{ graph: Graph | null; problems: string[] }> {
  const { role, what, entry, bytes, provider, threads, vocabSize, externalDataDir, sampled = false } = options;
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, provider, threads, externalDataDir);
  } catch (error) {
    if (provider !== 'cpu') throw error;
    return { graph: null, problems: [`${what} (${entry.file}) is not a loadable ONNX model: ${firstLine(error)}`] };
  }
  const graph = new Graph(role, session, entry);
  return { graph, problems: contractProblems(role, graph, vocabSize, sampled) };
}

/** Opens one session per graph of `roles`, and the chains of those roles (their sessions on first use). */
async function openGraphs(
  loaded: LoadedManifest,
  roles: readonly GraphRole[],
  provider: Provider,
  threads: (role: GraphRole) => number,
  vocabSize: number,
): Promise<{ graphs: Partial<Record<GraphRole, Graph>>; chains: Chains; problems: string[] }> {
  const graphs: Partial<Record<GraphRole, Graph>> = {};
  const problems: string[] = [];
  for (const role of roles) {
    const entry = loaded.manifest.graphs[role];
    const bytes = loaded.graphBytes[role];
    if (!entry || !bytes) continue;
    let opened: Awaited<ReturnType<typeof openGraph>>;
    try {
      opened = await openGraph({ role, what: `graph "${role}"`, entry, bytes, provider, threads: threads(role), vocabSize });
    } catch (error) {
      await releaseAll(graphs);
      throw error;
    }
    problems.push(...opened.problems);
    if (opened.graph) graphs[role] = opened.graph;
  }
  const chains: Chains = { eagle: ChainSet.empty(), draft: ChainSet.empty(), seed_prophet: ChainSet.empty() };
  for (const drafter of CHAINED_DRAFTERS) {
    const chain = loaded.manifest.chains?.[drafter];
    if (!chain || !roles.includes(drafter)) continue;
    const { cache_layers, kv_dim, hidden_dim, sampled } = chain;
    const opener =
      (refs: Record<string, FileRef>, names: { inputs: string[]; outputs: string[] }, what: string, isSampled: boolean) =>
      async (gamma: number, bytes: Uint8Array): Promise<Graph> => {
        const entry = { ...refs[String(gamma)], cache_layers, kv_dim, hidden_dim, inputs: names.inputs, outputs: names.outputs };
        const opened = await openGraph({
          role: chainRole(drafter),
          what: `the ${drafter} ${what} of gamma ${gamma}`,
          entry,
          bytes,
          provider,
          threads: threads(drafter),
          vocabSize,
          externalDataDir: loaded.dir,
          sampled: isSampled,
        });
        if (opened.problems.length > 0) {
          await opened.graph?.session.release();
          throw new ModelLoadError(loaded.manifestPath, opened.problems);
        }
        return opened.graph!;
      };
    const sampledSet = sampled
      ? new ChainSet(loaded.sampledChainBytes.get(drafter) ?? new Map(), opener(sampled.gammas, sampled, 'sampled chain', true))
      : null;
    chains[drafter] = new ChainSet(loaded.chainBytes.get(drafter) ?? new Map(), opener(chain.gammas, chain, 'chain', false), sampledSet);
  }
  return { graphs, chains, problems };
}

async function releaseAll(graphs: Partial<Record<GraphRole, Graph>>, chains?: Chains): Promise<void> {
  for (const g of Object.values(graphs)) await g.session.release();
  if (chains) for (const d of CHAINED_DRAFTERS) await chains[d].release();
}

/** The graphs `targetThreads` applies to: they run only to verify (trunk also drafts for early exit). */
const TARGET_ROLES: readonly GraphRole[] = ['full', 'rest'];

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0];

export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const requested = options.provider ?? 'cpu';
  if (!(PROVIDERS as readonly string[]).includes(requested)) {
    throw new ProviderError(`provider ${JSON.stringify(requested)} is unknown; use one of ${PROVIDERS.join(', ')}`);
  }
  const drafterThreads = options.threads ?? 1;
  const targetThreads = options.targetThreads ?? drafterThreads;
  const threads = (role: GraphRole): number => (TARGET_ROLES.includes(role) ? targetThreads : drafterThreads);
  const loaded = await readManifest(dir, options.target);
  const vocabSize = loaded.manifest.vocab.size;
  const roles = options.roles ?? GRAPH_ROLES;

  let used: Provider = requested;
  let fallbackReason: string | undefined;
  if (requested !== 'cpu' && !availableProviders().includes(requested)) {
    used = 'cpu';
    fallbackReason = `onnxruntime-node has no ${requested} provider installed here (see README: GPU providers)`;
  }
  let opened: Awaited<ReturnType<typeof openGraphs>>;
  try {
    opened = await openGraphs(loaded, roles, used, threads, vocabSize);
  } catch (error) {
    fallbackReason = `the ${used} provider failed to start: ${firstLine(error)}`;
    used = 'cpu';
    opened = await openGraphs(loaded, roles, used, threads, vocabSize);
  }
  const { graphs, problems } = opened;
  let { chains } = opened;
  if (problems.length > 0) {
    await releaseAll(graphs, chains);
    throw new ModelLoadError(loaded.manifestPath, problems);
  }

  if (options.draftDir) {
    const draftLoaded = await readManifest(options.draftDir);
    try {
      assertSameVocabulary(loaded.manifest, draftLoaded.manifest, options.draftDir);
    } catch (error) {
      await releaseAll(graphs, chains);
      throw error;
    }
    const draft = await openGraphs(draftLoaded, ['draft'], used, threads, vocabSize);
    if (draft.problems.length > 0 || !draft.graphs.draft) {
      await releaseAll({ ...graphs, ...draft.graphs }, chains);
      throw new ModelLoadError(draftLoaded.manifestPath, draft.problems.length > 0 ? draft.problems : ['has no "draft" graph']);
    }
    if (graphs.draft) await graphs.draft.session.release();
    graphs.draft = draft.graphs.draft;
    // The draft's chains come from the same directory as its graph (or there are none): this model's
    // own would draft with the other draft model.
    await chains.draft.release();
    chains = { ...chains, draft: draft.chains.draft };
  }

  return {
    dir,
    manifest: loaded.manifest,
    vocabSize,
    graphs,
    chains,
    provider: { requested, used, ...(fallbackReason ? { fallbackReason } : {}) },
    release: () => releaseAll(graphs, chains),
  };
}

/** Pairs a target with a draft graph from another model directory: their vocabularies must agree. */
export function assertSameVocabulary(target: Manifest, draft: Manifest, draftDir: string): void {
  const a = target.vocab;
  const b = draft.vocab;
  const differences: string[] = [];
  if (a.size !== b.size) differences.push(`size ${b.size} vs the target's ${a.size}`);
  for (const key of ['pad', 'bos', 'sep', 'eos'] as const) {
    if (a.special[key] !== b.special[key]) differences.push(`"${key}" is ${b.special[key]} vs the target's ${a.special[key]}`);
  }
  if (JSON.stringify(a.units) !== JSON.stringify(b.units)) differences.push('unit ranges differ');
  if (differences.length > 0) {
    throw new VocabularyMismatchError(`draft model ${draftDir} cannot draft for this target: vocabulary ${differences.join(', ')}`);
  }
}
