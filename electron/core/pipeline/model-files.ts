/**
 * Loading one of the voice's small single-graph models (the speaker, the reading checker): a JSON
 * manifest, every file it lists checked against its sha256, and a CPU session whose tensor names are
 * checked once. Each step throws the caller's ModelLoadError subclass naming the file at fault.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { ModelLoadError } from '../errors.ts';

export type LoadErrorClass = new (file: string, problems: string[]) => ModelLoadError;

/** Parses `manifestPath` and throws `LoadError` listing every problem `problemsOf` finds. */
export async function readManifestFile<M>(manifestPath: string, what: string, problemsOf: (m: M) => string[], LoadError: LoadErrorClass): Promise<M> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new LoadError(manifestPath, [`cannot read the ${what} manifest (${(error as Error).message})`]);
  }
  let manifest: M;
  try {
    manifest = JSON.parse(text) as M;
  } catch (error) {
    throw new LoadError(manifestPath, [`not valid JSON (${(error as Error).message})`]);
  }
  const problems = problemsOf(manifest);
  if (problems.length) throw new LoadError(manifestPath, problems);
  return manifest;
}

/** Reads every file of `files` (sha256 by name, in `dir`) and checks its hash; returns `graphFile`'s bytes. */
export async function readCheckedFiles(
  dir: string,
  manifestFile: string,
  files: Record<string, string>,
  graphFile: string,
  LoadError: LoadErrorClass,
): Promise<Uint8Array> {
  let graphBytes: Uint8Array | undefined;
  for (const [name, expected] of Object.entries(files)) {
    const file = path.join(dir, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new LoadError(file, [`listed in ${manifestFile} but cannot be read (${(error as Error).message})`]);
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected) {
      throw new LoadError(file, [`sha256 is ${actual}, ${manifestFile} says ${expected}: the file is corrupt or from another export`]);
    }
    if (name === graphFile) graphBytes = bytes;
  }
  return graphBytes!;
}

/** A CPU session on `bytes` (`threads` intra-op threads, default 1) whose input and output names are exactly these. */
export async function openCheckedSession(
  bytes: Uint8Array,
  graphPath: string,
  names: { inputs: readonly string[]; outputs: readonly string[] },
  threads: number | undefined,
  LoadError: LoadErrorClass,
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads ?? 1,
      interOpNumThreads: 1,
    });
  } catch (error) {
    throw new LoadError(graphPath, [`ONNX Runtime cannot load it (${(error as Error).message})`]);
  }
  const problems: string[] = [];
  if (session.inputNames.join() !== names.inputs.join()) {
    problems.push(`inputs are [${session.inputNames.join(', ')}], expected [${names.inputs.join(', ')}]`);
  }
  if (session.outputNames.join() !== names.outputs.join()) {
    problems.push(`outputs are [${session.outputNames.join(', ')}], expected [${names.outputs.join(', ')}]`);
  }
  if (problems.length) {
    await session.release();
    throw new LoadError(graphPath, problems);
  }
  return session;
}
