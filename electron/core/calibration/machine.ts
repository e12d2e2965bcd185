/**
 * What a calibration is valid for: this machine's CPU and cores and the onnxruntime-node build that
 * runs the graphs (a new ONNX Runtime can change every graph's cost), and the voice by its manifest's
 * hash (the manifest names every graph file by its sha256, so any changed graph changes it).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ModelLoadError } from '../errors.ts';
import { MANIFEST_FILE } from '../engine/tensor-names.ts';

export interface MachineInfo {
  /** The CPU model as the OS names it (`os.cpus()[0].model`, lscpu's "Model name"). */
  cpu: string;
  /** Cores this process may use (`os.availableParallelism()`). */
  cores: number;
  /** onnxruntime-node's version. */
  onnxruntime: string;
  platform: string;
  arch: string;
}

export interface VoiceIdentity {
  /** The manifest's "name". */
  name: string;
  /** sha256 of manifest.json's bytes. */
  manifestSha256: string;
}

export function currentMachine(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() || 'unknown CPU',
    cores: os.availableParallelism(),
    onnxruntime: onnxRuntimeVersion(),
    platform: process.platform,
    arch: process.arch,
  };
}

function onnxRuntimeVersion(): string {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Fields on which two machines differ, by name ("CPU", "cores", "onnxruntime 1.29.0 → 1.30.0"); empty when the same. */
export function machineDifferences(was: MachineInfo, now: MachineInfo): string[] {
  const out: string[] = [];
  if (was.cpu !== now.cpu) out.push(`CPU ${was.cpu} → ${now.cpu}`);
  if (was.cores !== now.cores) out.push(`${was.cores} → ${now.cores} cores`);
  if (was.onnxruntime !== now.onnxruntime) out.push(`onnxruntime ${was.onnxruntime} → ${now.onnxruntime}`);
  if (was.platform !== now.platform || was.arch !== now.arch) out.push(`${was.platform}-${was.arch} → ${now.platform}-${now.arch}`);
  return out;
}

/** "AMD EPYC, 2 cores": the CPU without trademark signs and clock suffixes. */
export function describeMachine(m: Pick<MachineInfo, 'cpu' | 'cores'>): string {
  const cpu = m.cpu
    .replace(/\((R|TM|tm|r)\)/g, '')
    .replace(/\s+(CPU\s+)?@\s*[\d.]+\s*GHz/i, '')
    .replace(/\s+\d+-Core Processor$/i, '')
    .replace(/\s+/g, ' ')
    .trim();
  return `${cpu}, ${m.cores} core${m.cores === 1 ? '' : 's'}`;
}

export async function voiceIdentity(voiceDir: string): Promise<VoiceIdentity> {
  const file = path.join(voiceDir, MANIFEST_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ModelLoadError(file, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); is this a model directory?`]);
  }
  let name = path.basename(path.resolve(voiceDir));
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { name?: unknown };
    if (typeof parsed.name === 'string') name = parsed.name;
  } catch {
    // loadModel reports a manifest that is not JSON; the hash still identifies the file.
  }
  return { name, manifestSha256: createHash('sha256').update(bytes).digest('hex') };
}
