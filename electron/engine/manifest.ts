/**
 * The model manifest (docs/model-contract.md): its types and the checks made once, at load, against
 * the files beside it. Every problem found is reported together in one ModelLoadError.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from './errors.ts';
import { GRAPH_ROLES, MANIFEST_FILE, MANIFEST_FORMAT, type GraphRole } from './tensor-names.ts';

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
  /**
   * Set when `file` was derived from another graph (the drafters' int8 weights, made by
   * native-models/quantize_drafters.py): the float32 graph the export parity-checked, and how.
   */
  source?: { file: string; sha256: string; quantization: string };
}

export interface VocabRange {
  offset: number;
  count: number;
}

export interface Manifest {
  format: string;
  name: string;
  context: number;
  d_model: number;
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
  training?: unknown;
  code_commit?: string;
}

/** A manifest plus the bytes of each graph it names, hashes already checked. */
export interface LoadedManifest {
  dir: string;
  manifestPath: string;
  manifest: Manifest;
  graphBytes: Partial<Record<GraphRole, Uint8Array>>;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

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
  }
  if (!m.graphs.full) problems.push('graph "full" is required');
  return problems;
}

/** Reads manifest.json in `dir`, reads every graph file and checks its hash. */
export async function readManifest(dir: string): Promise<LoadedManifest> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new ModelLoadError(manifestPath, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); is this a model directory?`]);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (error) {
    throw new ModelLoadError(manifestPath, [`is not valid JSON (${(error as Error).message})`]);
  }
  const problems = manifestProblems(manifest);
  if (problems.length > 0) throw new ModelLoadError(manifestPath, problems);

  const graphBytes: Partial<Record<GraphRole, Uint8Array>> = {};
  const fileProblems: string[] = [];
  for (const role of GRAPH_ROLES) {
    const entry = manifest.graphs[role];
    if (!entry) continue;
    const file = path.join(dir, entry.file);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      fileProblems.push(`graph "${role}": ${file} is missing (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      continue;
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== entry.sha256) {
      fileProblems.push(`graph "${role}": ${file} has sha256 ${digest.slice(0, 12)}…, the manifest says ${entry.sha256.slice(0, 12)}… (file changed or corrupt)`);
      continue;
    }
    graphBytes[role] = bytes;
  }
  if (fileProblems.length > 0) throw new ModelLoadError(manifestPath, fileProblems);
  return { dir, manifestPath, manifest, graphBytes };
}
