/**
 * Where calibrations live and what their files hold. The user's config directory (SPEAR_CONFIG_DIR
 * overrides it; tests point it at a scratch folder) holds:
 *
 *   calibration.json             this machine's costs, the voice's acceptance, and the choice
 *   acceptance/<sha256>.json     a voice's acceptance per depth, by its manifest's hash: it depends on
 *                                the voice alone, so a new machine or ONNX Runtime re-times the graphs
 *                                without decoding the bench texts again
 *
 * A file for another machine, ONNX Runtime or voice, or one naming a strategy this version does not
 * have, is stale; a file that is not valid JSON of this format is corrupt. Either is ignored, with a
 * one-line notice for the caller to show, and redone.
 * Writes are atomic (a temporary file renamed over the old one).
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../files.ts';
import type { AcceptanceProfile, GraphCost, Prediction } from './cost-model.ts';
import type { AdaptiveChoice } from './adaptive.ts';
import { machineDifferences, type MachineInfo, type VoiceIdentity } from './machine.ts';

export const CALIBRATION_FORMAT = 'spear-calibration/1';
export const ACCEPTANCE_FORMAT = 'spear-acceptance/1';
export const CALIBRATION_FILE = 'calibration.json';

export interface Calibration {
  format: typeof CALIBRATION_FORMAT;
  machine: MachineInfo;
  voice: VoiceIdentity;
  /** ISO 8601 time the measurement finished. */
  measuredAt: string;
  /** Wall time of the calibration. */
  seconds: number;
  acceptance: AcceptanceProfile;
  costs: GraphCost[];
  /** The fastest predicted configuration: what synthesis uses by default. */
  best: Prediction;
  /** The fastest of each strategy the voice has. */
  byStrategy: Partial<Record<Prediction['strategy'], Prediction>>;
  /** Adaptive gamma timed against `best` (adaptive.ts); absent when best is ar or it was not timed. */
  adaptive?: AdaptiveChoice;
}

/** The user's config directory (SPEAR_CONFIG_DIR overrides it); one definition for every file kept there. */
export { configDir } from '../config-dir.ts';

export const calibrationPath = (dir: string): string => path.join(dir, CALIBRATION_FILE);
export const acceptancePath = (dir: string, voice: VoiceIdentity): string => path.join(dir, 'acceptance', `${voice.manifestSha256}.json`);

// ---------------------------------------------------------------- the files' shapes

const strategy = z.enum(['ar', 'draft', 'early-exit', 'eagle', 'layer-skip', 'medusa', 'prophet']);
const count = z.number().int().min(0);
const positive = z.number().finite().positive();

const machineSchema = z.object({ cpu: z.string(), cores: z.number().int().min(1), onnxruntime: z.string(), platform: z.string(), arch: z.string() });
const voiceSchema = z.object({ name: z.string(), manifestSha256: z.string().regex(/^[0-9a-f]{64}$/) });

const acceptanceSchema = z
  .object({
    maxGamma: z.number().int().min(1).max(64),
    // Strict: a drafter this version does not know makes the profile another version's, measured again.
    drafters: z.strictObject({
      eagle: z.object({ reached: z.array(count) }).optional(),
      draft: z.object({ reached: z.array(count) }).optional(),
      'early-exit': z.object({ reached: z.array(count) }).optional(),
      'layer-skip': z.object({ reached: z.array(count) }).optional(),
      // maxGamma: its heads, where fewer than the profile's (cost-model.ts).
      medusa: z.object({ reached: z.array(count), maxGamma: z.number().int().min(1).max(64).optional() }).optional(),
      prophet: z.object({ reached: z.array(count) }).optional(),
    }),
    meanPosition: z.number().finite().min(0),
    sentences: count,
    tokens: count,
  })
  .superRefine((a, ctx) => {
    for (const [drafter, d] of Object.entries(a.drafters)) {
      if (!d) continue;
      const largest = (d as { maxGamma?: number }).maxGamma ?? a.maxGamma;
      const ok = d.reached.length === a.maxGamma + 1 && d.reached.every((n, k) => (k === 0 || n <= d.reached[k - 1]) && (k <= largest || n === 0));
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          message: `acceptance of ${drafter}: "reached" must hold maxGamma + 1 non-increasing counts, 0 past the drafter's own maxGamma`,
          path: ['drafters', drafter],
        });
    }
  });

const graphName = z.string().regex(/^(full|rest|trunk|exit_head|eagle|draft|layer_skip|medusa|seed_prophet|(eagle|draft|seed_prophet)_chain_[1-9]\d*)$/);
const costSchema = z.object({ graph: graphName, threads: z.number().int().min(0).max(256), positions: z.number().int().min(1), ms: positive });

const predictionSchema = z.object({
  strategy,
  gamma: z.number().int().min(0).max(64),
  threads: z.number().int().min(0).max(256),
  targetThreads: z.number().int().min(0).max(256),
  unitsPerStep: positive,
  stepMs: positive,
  tokensPerSecond: positive,
  speedup: positive,
});

const adaptiveSchema = z.object({
  strategy,
  draftConfidence: z.number().gt(0).lt(1),
  maxGamma: z.number().int().min(1).max(64),
  speedupOverFixed: positive,
  chosen: z.boolean(),
});

const calibrationSchema = z.object({
  format: z.literal(CALIBRATION_FORMAT),
  machine: machineSchema,
  voice: voiceSchema,
  measuredAt: z.string(),
  seconds: z.number().finite().min(0),
  acceptance: acceptanceSchema,
  costs: z.array(costSchema).min(1),
  best: predictionSchema,
  byStrategy: z.object({
    ar: predictionSchema.optional(),
    draft: predictionSchema.optional(),
    'layer-skip': predictionSchema.optional(),
    'early-exit': predictionSchema.optional(),
    eagle: predictionSchema.optional(),
    medusa: predictionSchema.optional(),
    prophet: predictionSchema.optional(),
  }),
  adaptive: adaptiveSchema.optional(),
});

const acceptanceFileSchema = z.object({ format: z.literal(ACCEPTANCE_FORMAT), voice: voiceSchema, acceptance: acceptanceSchema });

// ---------------------------------------------------------------- reading and writing

export type StoredCalibration =
  | { status: 'valid'; calibration: Calibration; file: string }
  | { status: 'missing'; file: string }
  /** For another machine, ONNX Runtime or voice; `notice` is one line for the user. */
  | { status: 'stale'; notice: string; file: string }
  /** Not JSON, or not this format. */
  | { status: 'corrupt'; notice: string; file: string };

/** Problems that make `value` not a calibration file, one line each; empty when it is one. */
export function calibrationProblems(value: unknown): string[] {
  const parsed = calibrationSchema.safeParse(value);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The strategies a calibration file names that this version does not have, in the order found.
 */
function unknownStrategies(value: unknown): string[] {
  if (!isRecord(value) || value.format !== CALIBRATION_FORMAT) return [];
  const named: unknown[] = [];
  if (isRecord(value.best)) named.push(value.best.strategy);
  if (isRecord(value.byStrategy)) named.push(...Object.keys(value.byStrategy));
  if (isRecord(value.acceptance) && isRecord(value.acceptance.drafters)) named.push(...Object.keys(value.acceptance.drafters));
  const known: readonly string[] = strategy.options;
  return [...new Set(named.filter((s): s is string => typeof s === 'string' && !known.includes(s)))];
}

/** This machine's and this voice's calibration in `dir`, or why there is none. Never throws for a bad file. */
export async function readCalibration(dir: string, machine: MachineInfo, voice: VoiceIdentity): Promise<StoredCalibration> {
  const file = calibrationPath(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing', file };
    return { status: 'corrupt', file, notice: `calibration ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); ignored` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { status: 'corrupt', file, notice: `calibration ${file} is not valid JSON; ignored` };
  }
  const unknown = unknownStrategies(value);
  if (unknown.length > 0) {
    const names = unknown.map((s) => JSON.stringify(s)).join(', ');
    return { status: 'stale', file, notice: `calibration ${file} was measured for another setup (unknown strategy ${names}); ignored` };
  }
  const problems = calibrationProblems(value);
  if (problems.length > 0) return { status: 'corrupt', file, notice: `calibration ${file} is not a ${CALIBRATION_FORMAT} file (${problems[0]}); ignored` };
  const calibration = value as Calibration;
  const differences = machineDifferences(calibration.machine, machine);
  if (calibration.voice.manifestSha256 !== voice.manifestSha256) {
    differences.unshift(calibration.voice.name === voice.name ? `voice ${voice.name} changed` : `voice ${calibration.voice.name} → ${voice.name}`);
  }
  if (differences.length > 0)
    return { status: 'stale', file, notice: `calibration ${file} was measured for another setup (${differences.join(', ')}); ignored` };
  return { status: 'valid', calibration, file };
}

export async function writeCalibration(dir: string, calibration: Calibration): Promise<string> {
  const file = calibrationPath(dir);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(file, JSON.stringify(calibration, null, 2) + '\n');
  return file;
}

/** The voice's cached acceptance, or undefined (missing, corrupt or for another voice: measured again). */
export async function readAcceptance(dir: string, voice: VoiceIdentity): Promise<AcceptanceProfile | undefined> {
  try {
    const parsed = acceptanceFileSchema.safeParse(JSON.parse(await readFile(acceptancePath(dir, voice), 'utf8')));
    return parsed.success && parsed.data.voice.manifestSha256 === voice.manifestSha256 ? (parsed.data.acceptance as AcceptanceProfile) : undefined;
  } catch {
    return undefined;
  }
}

export async function writeAcceptance(dir: string, voice: VoiceIdentity, acceptance: AcceptanceProfile): Promise<void> {
  const file = acceptancePath(dir, voice);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify({ format: ACCEPTANCE_FORMAT, voice, acceptance }, null, 2) + '\n');
}
