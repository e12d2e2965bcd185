/**
 * Checking a reading: does a sentence's decoded units say the phonemes it was meant to say?
 *
 * An autoregressive reader sometimes loses its place in the phonemes: it skips a phrase, repeats one,
 * or garbles a word (docs/results.md). A small network trained with CTC to read units back into phones
 * (native-models/spear_voice/checker/) scores a reading by the negative log-likelihood of the sentence's phones
 * given its units, in nats per phone. A reading that scores worse than the voice's threshold (the 90th
 * percentile of real recordings' scores) is read again a few times with sampling, and the best-scoring
 * reading is spoken — reranking candidates with a model of the text, as Tortoise-TTS does with CLVP.
 *
 * Files (native-models/voice/checker/): checker.json (manifest), checker.onnx, parity.json.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.ts';
import { openCheckedSession, readCheckedFiles, readManifestFile } from './model-files.ts';

export const CHECKER_MANIFEST_FILE = 'checker.json';
export const CHECKER_FORMAT = 'spear-checker/1';
/** ONNX tensor names (twins: native-models/spear_voice/checker/export.py INPUT, OUTPUT). */
export const CHECKER_INPUT = 'units';
export const CHECKER_OUTPUT = 'log_probs';

/** A checker directory, manifest or ONNX file is missing, corrupt or inconsistent. */
export class CheckerLoadError extends ModelLoadError {}

export interface CheckerManifest {
  format: string;
  unit_count: number;
  /** Output frames per unit (the network reads each unit twice, so any phone sequence fits). */
  frames_per_unit: number;
  phones: string[];
  /** Index of the CTC blank in the network's output (= phones.length). */
  blank: number;
  /** Phone label of each phoneme id of the reader's inventory; -1 for word boundaries and pauses. */
  phone_of_phoneme: number[];
  /** Readings scoring above this many nats per phone are read again. */
  threshold: number;
  graph: { file: string; inputs: string[]; outputs: string[] };
  files: Record<string, string>;
}

export interface ReadingCheck {
  readonly manifest: CheckerManifest;
  /** Nats per phone: how badly `units` say the phones of `phonemeIds`; Infinity when they cannot. */
  score(units: readonly number[], phonemeIds: readonly number[]): Promise<number>;
  /** True when a reading with this score should be read again. */
  needsRereading(score: number): boolean;
  /**
   * Where each phoneme of `phonemeIds` is said in `units`: [first, last] unit index (inclusive) of
   * the CTC forced alignment (ctcAlign), or null for word boundaries and pauses (no phone). null
   * altogether when no alignment exists (the reading is too short for the phones).
   */
  align(units: readonly number[], phonemeIds: readonly number[]): Promise<Array<[number, number] | null> | null>;
  release(): Promise<void>;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export function checkerManifestProblems(m: CheckerManifest): string[] {
  const problems: string[] = [];
  if (m.format !== CHECKER_FORMAT) problems.push(`format is ${JSON.stringify(m.format)}, expected "${CHECKER_FORMAT}"`);
  if (!Array.isArray(m.phones) || m.phones.length === 0) problems.push('"phones" must be a non-empty list');
  else if (m.blank !== m.phones.length) problems.push(`"blank" is ${m.blank}, expected ${m.phones.length} (after the phones)`);
  if (!isInt(m.unit_count) || m.unit_count < 1) problems.push('"unit_count" must be a positive integer');
  if (!isInt(m.frames_per_unit) || m.frames_per_unit < 1) problems.push('"frames_per_unit" must be a positive integer');
  if (!Array.isArray(m.phone_of_phoneme) || !m.phone_of_phoneme.every((p) => isInt(p) && p >= -1 && p < (m.phones?.length ?? 0))) {
    problems.push('"phone_of_phoneme" must map every phoneme id to a phone index or -1');
  }
  if (!(typeof m.threshold === 'number' && m.threshold > 0)) problems.push('"threshold" must be a positive number');
  if (m.graph?.inputs?.join() !== CHECKER_INPUT || m.graph?.outputs?.join() !== CHECKER_OUTPUT) {
    problems.push(`"graph" must read [${CHECKER_INPUT}] and write [${CHECKER_OUTPUT}]`);
  }
  if (!m.files || typeof m.files !== 'object' || !(m.graph?.file in m.files)) problems.push('"files" (sha256 by file name) must list the graph');
  return problems;
}

/**
 * CTC negative log-likelihood of `labels` given per-frame log-probabilities (T, C) row-major, blank at
 * index `blank`: the forward (alpha) recursion of Graves et al. 2006 over the blank-interleaved labels,
 * in log space. Infinity when no alignment exists (too few frames for the labels and their repeats).
 */
export function ctcNegativeLogLikelihood(logProbs: Float32Array, T: number, C: number, labels: readonly number[], blank: number): number {
  const L = labels.length;
  const S = 2 * L + 1;
  const ext = new Int32Array(S).fill(blank);
  for (let i = 0; i < L; i++) ext[2 * i + 1] = labels[i];
  let alpha = new Float64Array(S).fill(-Infinity);
  let next = new Float64Array(S);
  if (T === 0) return L === 0 ? 0 : Infinity;
  alpha[0] = logProbs[blank];
  if (S > 1) alpha[1] = logProbs[ext[1]];
  const logAdd = (a: number, b: number): number => {
    if (a === -Infinity) return b;
    if (b === -Infinity) return a;
    const m = Math.max(a, b);
    return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
  };
  for (let t = 1; t < T; t++) {
    const row = t * C;
    for (let s = 0; s < S; s++) {
      let a = alpha[s];
      if (s >= 1) a = logAdd(a, alpha[s - 1]);
      // Skipping the blank between two labels is allowed unless they are the same label.
      if (s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2]) a = logAdd(a, alpha[s - 2]);
      next[s] = a === -Infinity ? -Infinity : a + logProbs[row + ext[s]];
    }
    [alpha, next] = [next, alpha];
  }
  const end = S > 1 ? logAdd(alpha[S - 1], alpha[S - 2]) : alpha[0];
  return end === -Infinity ? Infinity : -end;
}

/**
 * CTC forced alignment (Viterbi over the blank-interleaved labels, the max-product twin of the
 * forward recursion above): for each label, the first and last frame the best path spends on it.
 * null when no path exists. Frames a label shares with its blanks are not counted: CTC outputs are
 * peaky, so a label's span is where it is said most clearly, not its whole extent.
 */
export function ctcAlign(logProbs: Float32Array, T: number, C: number, labels: readonly number[], blank: number): Array<[number, number]> | null {
  const L = labels.length;
  if (L === 0) return [];
  const S = 2 * L + 1;
  if (T === 0) return null;
  const ext = new Int32Array(S).fill(blank);
  for (let i = 0; i < L; i++) ext[2 * i + 1] = labels[i];
  // back[t * S + s]: the state at t - 1 on the best path into s at t.
  const back = new Int32Array(T * S).fill(-1);
  let score = new Float64Array(S).fill(-Infinity);
  let next = new Float64Array(S);
  score[0] = logProbs[blank];
  if (S > 1) score[1] = logProbs[ext[1]];
  for (let t = 1; t < T; t++) {
    const row = t * C;
    for (let s = 0; s < S; s++) {
      let best = score[s];
      let from = s;
      if (s >= 1 && score[s - 1] > best) [best, from] = [score[s - 1], s - 1];
      if (s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2] && score[s - 2] > best) [best, from] = [score[s - 2], s - 2];
      next[s] = best === -Infinity ? -Infinity : best + logProbs[row + ext[s]];
      back[t * S + s] = from;
    }
    [score, next] = [next, score];
  }
  let state = S > 1 && score[S - 2] > score[S - 1] ? S - 2 : S - 1;
  if (score[state] === -Infinity) return null;
  const spans: Array<[number, number]> = labels.map(() => [-1, -1]);
  for (let t = T - 1; t >= 0; t--) {
    if (state % 2 === 1) {
      const span = spans[(state - 1) / 2];
      if (span[1] < 0) span[1] = t;
      span[0] = t;
    }
    if (t > 0) state = back[t * S + state];
  }
  return spans;
}

export async function loadReadingCheck(dir: string, options: { threads?: number } = {}): Promise<ReadingCheck> {
  const manifest = await readManifestFile(path.join(dir, CHECKER_MANIFEST_FILE), 'checker', checkerManifestProblems, CheckerLoadError);
  const graphBytes = await readCheckedFiles(dir, CHECKER_MANIFEST_FILE, manifest.files, manifest.graph.file, CheckerLoadError);
  const graphPath = path.join(dir, manifest.graph.file);
  const session = await openCheckedSession(graphBytes, graphPath, { inputs: [CHECKER_INPUT], outputs: [CHECKER_OUTPUT] }, options.threads, CheckerLoadError);
  const C = manifest.blank + 1;
  return {
    manifest,
    async score(units, phonemeIds) {
      const labels = phonemeIds.map((p) => manifest.phone_of_phoneme[p] ?? -1).filter((p) => p >= 0);
      if (labels.length === 0) return 0;
      if (units.length === 0) return Infinity;
      const ids = BigInt64Array.from(units, (u) => BigInt(Math.min(Math.max(0, u), manifest.unit_count - 1)));
      const out = (await session.run({ [CHECKER_INPUT]: new ort.Tensor('int64', ids, [1, units.length]) }))[CHECKER_OUTPUT];
      const T = units.length * manifest.frames_per_unit;
      return ctcNegativeLogLikelihood(out.data as Float32Array, T, C, labels, manifest.blank) / labels.length;
    },
    needsRereading: (score) => score > manifest.threshold,
    async align(units, phonemeIds) {
      const phones = phonemeIds.map((p) => manifest.phone_of_phoneme[p] ?? -1);
      const labels = phones.filter((p) => p >= 0);
      if (labels.length === 0 || units.length === 0) return labels.length === 0 ? phones.map(() => null) : null;
      const ids = BigInt64Array.from(units, (u) => BigInt(Math.min(Math.max(0, u), manifest.unit_count - 1)));
      const out = (await session.run({ [CHECKER_INPUT]: new ort.Tensor('int64', ids, [1, units.length]) }))[CHECKER_OUTPUT];
      const spans = ctcAlign(out.data as Float32Array, units.length * manifest.frames_per_unit, C, labels, manifest.blank);
      if (!spans) return null;
      const fpu = manifest.frames_per_unit;
      let k = 0;
      return phones.map((p) => {
        if (p < 0) return null;
        const [first, last] = spans[k++];
        return [Math.floor(first / fpu), Math.floor(last / fpu)];
      });
    },
    async release() {
      await session.release();
    },
  };
}
