/**
 * Runtime validation of everything that crosses into the service from a renderer (Electron IPC or
 * the browser-mode WebSocket). Each schema is checked against the contract's type at compile time, so
 * the schema and the type cannot disagree.
 */
import { z } from 'zod';
import { SpearError } from '../core/errors.ts';
import {
  INVOKE_METHODS,
  LIMITS,
  type CompareOptions,
  type InvokeArgs,
  type InvokeMethod,
  type StudioSettings,
  type SweepOptions,
  type SynthesizeOptions,
} from '../ipc-contract.ts';

const strategy = z.enum(['ar', 'draft', 'early-exit', 'eagle', 'layer-skip', 'medusa', 'prophet']);
const provider = z.enum(['cpu', 'webgpu', 'cuda']);
const gamma = z.number().int().min(LIMITS.gammaMin).max(LIMITS.gammaMax);
const temperature = z.number().finite().min(0).max(10);
const topK = z.number().int().min(1).max(100_000);
const topP = z.number().gt(0).max(1);
const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const jobId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a job id is 1–64 letters, digits, _ or -');

export const documentSchema = z.string().max(LIMITS.documentChars, `a document may hold at most ${LIMITS.documentChars} characters`);

export const synthesizeOptionsSchema = z
  .strictObject({
    strategy: strategy.optional(),
    gamma: z.union([gamma, z.literal('auto')]).optional(),
    draftConfidence: z.number().gt(0).lt(1).optional(),
    maxGamma: gamma.optional(),
    drafts: z.number().int().min(1).max(8).optional(),
    tree: z
      .union([
        z.array(z.number().int().min(1).max(64)).min(1).max(16),
        z
          .array(z.array(z.number().int().min(0).max(63)).min(1).max(16))
          .min(1)
          .max(64),
      ])
      .optional(),
    temperature: temperature.optional(),
    topK: topK.optional(),
    topP: topP.optional(),
    seed: seed.optional(),
    batchSize: z.number().int().min(1).max(64).optional(),
    rate: z.number().min(0.5).max(2).optional(),
    pitch: z.number().min(-6).max(6).optional(),
    volume: z.number().min(0).max(2).optional(),
    sentencePauseMs: z.number().int().min(0).max(5000).optional(),
    paragraphPauseMs: z.number().int().min(0).max(5000).optional(),
  })
  .refine((o) => o.gamma === 'auto' || (o.draftConfidence === undefined && o.maxGamma === undefined), {
    message: "draftConfidence and maxGamma apply only with gamma 'auto'",
  })
  .refine((o) => !(o.gamma === 'auto' && o.strategy === 'ar'), {
    message: "gamma 'auto': ar drafts nothing, so there is no draft length to adapt",
  })
  .refine((o) => o.drafts === undefined || o.drafts === 1 || (o.temperature ?? 0) > 0, {
    message: 'drafts above 1 need a temperature above 0: greedy drafts are all the same draft',
  })
  .refine((o) => o.tree === undefined || o.strategy === 'medusa', {
    message: "tree: only 'medusa' drafts a tree",
  }) satisfies z.ZodType<SynthesizeOptions>;

export const sweepOptionsSchema = z.strictObject({
  strategy: z.enum(['draft', 'early-exit', 'eagle', 'layer-skip', 'medusa', 'prophet']),
  gammas: z.array(gamma).min(1).max(16).optional(),
  temperature: temperature.optional(),
  topK: topK.optional(),
  topP: topP.optional(),
  seed: seed.optional(),
}) satisfies z.ZodType<SweepOptions>;

const draftingStrategies = strategy.exclude(['ar']).options;
const draftingStrategy = strategy.exclude(['ar'], {
  error: (issue) =>
    issue.input === 'ar'
      ? 'ar is always run, as the baseline: list drafting strategies only'
      : `unknown strategy ${JSON.stringify(issue.input)}: one of ${draftingStrategies.join(', ')}`,
});
const eachOnce = (values: readonly unknown[]): boolean => new Set(values).size === values.length;

export const compareOptionsSchema = z.strictObject({
  strategies: z.array(draftingStrategy).min(1, 'choose at least one strategy').refine(eachOnce, 'each strategy once'),
  gammas: z
    .array(
      z.number().int().min(LIMITS.gammaMin).max(LIMITS.compareGammaMax, `the Compare view runs gamma from ${LIMITS.gammaMin} to ${LIMITS.compareGammaMax}`),
    )
    .min(1, 'choose at least one gamma')
    .refine(eachOnce, 'each gamma once'),
  repeats: z.number().int().min(1, 'repeats: at least 1').max(LIMITS.compareRepeatsMax, `repeats: at most ${LIMITS.compareRepeatsMax}`).optional(),
  temperature: temperature.optional(),
  topK: topK.optional(),
  topP: topP.optional(),
  seed: seed.optional(),
}) satisfies z.ZodType<CompareOptions>;

export const settingsPatchSchema = z.strictObject({
  provider: provider.optional(),
  threads: z.number().int().min(0).max(LIMITS.threadsMax).optional(),
  defaultStrategy: strategy.optional(),
  defaultGamma: gamma.optional(),
  useCalibration: z.boolean().optional(),
}) satisfies z.ZodType<Partial<StudioSettings>>;

const audioFormat = z.enum(['wav', 'mp3', 'flac', 'opus']);
const exportOptions = z.strictObject({ sentence: z.number().int().min(0).optional(), exportId: jobId });

const lexiconWord = z.string().min(1).max(LIMITS.lexiconWordChars, `a word may have at most ${LIMITS.lexiconWordChars} letters`);
const pronunciation = z
  .string()
  .min(1)
  .max(LIMITS.lexiconPronunciationChars, `a pronunciation may have at most ${LIMITS.lexiconPronunciationChars} characters`);

/** The arguments of every verb, as a tuple schema. */
export const argsSchemas = {
  segment: z.tuple([documentSchema]),
  importDocument: z.tuple([
    z.string().min(1).max(255),
    z
      .string()
      .max(Math.ceil(LIMITS.importBytes / 3) * 4, `a document to import may have at most ${LIMITS.importBytes / 1_048_576} MiB`)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
  ]),
  synthesize: z.tuple([documentSchema, synthesizeOptionsSchema]),
  cancel: z.tuple([jobId]),
  exportAudio: z.tuple([jobId, audioFormat, exportOptions]),
  listProviders: z.tuple([]),
  sweep: z.tuple([documentSchema, sweepOptionsSchema]),
  listStrategies: z.tuple([]),
  compare: z.tuple([documentSchema, compareOptionsSchema]),
  exportCompare: z.tuple([jobId, z.enum(['json', 'csv'])]),
  getSettings: z.tuple([]),
  setSettings: z.tuple([settingsPatchSchema]),
  getLexicon: z.tuple([]),
  addLexiconEntry: z.tuple([lexiconWord, pronunciation]),
  removeLexiconEntry: z.tuple([lexiconWord]),
  hearWord: z.tuple([lexiconWord, pronunciation.nullable()]),
  getCalibration: z.tuple([]),
  calibrate: z.tuple([]),
} satisfies { [M in InvokeMethod]: z.ZodType<InvokeArgs<M>> };

/** One browser-mode request frame. */
export const wsRequestSchema = z.strictObject({
  id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  method: z.enum(INVOKE_METHODS),
  args: z.array(z.unknown()).max(4),
});

/** Throws a ZodError-derived message that names the verb and the field. */
export function parseArgs<M extends InvokeMethod>(method: M, args: unknown): InvokeArgs<M> {
  const schema: z.ZodType = argsSchemas[method];
  const result = schema.safeParse(args);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new InvalidRequestError(`${method}: invalid argument${where ? ` ${where}` : ''}: ${issue?.message ?? 'rejected'}`);
  }
  return result.data as InvokeArgs<M>;
}

/** A request from the renderer or a browser client whose arguments the contract rejects. */
export class InvalidRequestError extends SpearError {}
