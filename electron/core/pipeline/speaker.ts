/**
 * The speaking stage: semantic units → audio at the speaker's rate (24 kHz shipped). An ONNX network (native-models/spear_voice/speaker/model.py)
 * writes vocoder frames (log-mel envelope, log f0, voicing) at 100 Hz, and the TypeScript
 * source–filter vocoder (electron/core/audio/dsp/source-filter.ts) turns them into samples.
 *
 * Files (native-models/voice/speaker/): speaker.json (manifest), speaker.onnx, codebook.npz,
 * parity.json. Every file's sha256 and the graph's tensor names are checked once, at load.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { frameWidth } from '../audio/dsp/features.ts';
import { sourceFilter, type SourceFilterOptions } from '../audio/dsp/source-filter.ts';
import { stretchFrames, type StretchOptions } from '../audio/dsp/stretch.ts';
import type { FrameGeometry } from '../audio/dsp/stft.ts';
import { ModelLoadError, SpearError } from '../errors.ts';
import { openCheckedSession, readCheckedFiles, readManifestFile } from './model-files.ts';

export const SPEAKER_MANIFEST_FILE = 'speaker.json';
export const SPEAKER_FORMAT = 'spear-speaker/1';
/** ONNX tensor names (twins: native-models/spear_voice/speaker/export.py INPUT, OUTPUT). */
export const SPEAKER_INPUT = 'units';
export const SPEAKER_OUTPUT = 'frames';

/** A speaker directory, manifest or ONNX file is missing, corrupt or inconsistent. */
export class SpeakerLoadError extends ModelLoadError {}

/** speak() was given something that is not a list of unit ids of this speaker. */
export class UnitRangeError extends SpearError {
  constructor(
    readonly index: number,
    readonly value: unknown,
    readonly unitCount: number,
  ) {
    super(`units[${index}] = ${String(value)} is not a unit id: want an integer in [0, ${unitCount})`);
  }
}

export interface SpeakerManifest {
  format: string;
  sample_rate: number;
  unit_rate: number;
  unit_count: number;
  frames_per_unit: number;
  features: { hop: number; win: number; n_fft: number; n_mels: number };
  vocoder: { kind: 'source-filter'; aperiodic_floor: number; aperiodic_start_hz: number; aperiodic_top: number };
  graph: { file: string; inputs: string[]; outputs: string[] };
  /** sha256 of every file of the speaker, by file name. */
  files: Record<string, string>;
  model_config?: unknown;
  training?: unknown;
  code_commit?: string;
  /**
   * Present when the speaker speaks groups of the unit extractor's units (codebook.npz's centroids, the
   * teacher's units) rather than the units themselves: `unit_groups[u]` is the group of centroid u
   * (native-models/research/coarse_units.py; docs/voice-audio.md#in-the-app).
   */
  unit_groups?: number[];
}

export interface Speaker {
  readonly sampleRate: number;
  /** Units per second of audio (25). */
  readonly unitRate: number;
  /** Size of the unit vocabulary; ids are 0-based. */
  readonly unitCount: number;
  /** Samples each unit becomes (960 at 25 Hz, 24 kHz). */
  readonly samplesPerUnit: number;
  readonly manifest: SpeakerManifest;
  /**
   * The teacher's units (ids of codebook.npz's centroids, as native-models/spear_voice/units writes them) → this
   * speaker's units: through `unit_groups` where the manifest has it, else unchanged.
   */
  fromCodebook(units: readonly number[]): number[];
  /**
   * 0-based unit ids → samples in [-1, 1]: `units.length × samplesPerUnit` of them at rate 1, about
   * that over `rate` otherwise (the vocoder's frames are resampled: dsp/stretch.ts).
   */
  speak(units: readonly number[], options?: StretchOptions): Promise<Float32Array>;
  /** The network's raw vocoder frames, (units.length × frames_per_unit, n_mels + 2) row-major. */
  frames(units: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface SpeakerOptions {
  /** Intra-op threads of the ONNX session; default 1 (the graph is small, see docs/voice-audio.md). */
  threads?: number;
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Structural problems of a parsed manifest (empty when fine). */
export function speakerManifestProblems(m: SpeakerManifest): string[] {
  const problems: string[] = [];
  if (m.format !== SPEAKER_FORMAT) problems.push(`format is ${JSON.stringify(m.format)}, expected "${SPEAKER_FORMAT}"`);
  for (const key of ['sample_rate', 'unit_count', 'frames_per_unit'] as const) {
    if (!isPositiveInt(m[key])) problems.push(`"${key}" must be a positive integer`);
  }
  const f = m.features;
  if (!f || ![f.hop, f.win, f.n_fft, f.n_mels].every(isPositiveInt)) problems.push('"features" needs positive integers hop, win, n_fft, n_mels');
  else {
    if ((f.n_fft & (f.n_fft - 1)) !== 0 || f.n_fft < f.win) problems.push(`features.n_fft ${f.n_fft} must be a power of two ≥ win ${f.win}`);
    if (f.n_mels < 2) problems.push('features.n_mels must be ≥ 2');
    if (isPositiveInt(m.sample_rate) && isPositiveInt(m.frames_per_unit) && Math.abs(m.unit_rate - m.sample_rate / (f.hop * m.frames_per_unit)) > 1e-9) {
      problems.push(`unit_rate ${m.unit_rate} is not sample_rate / (hop × frames_per_unit) = ${m.sample_rate / (f.hop * m.frames_per_unit)}`);
    }
  }
  if (m.vocoder?.kind !== 'source-filter') problems.push(`vocoder.kind ${JSON.stringify(m.vocoder?.kind)} is not "source-filter"`);
  if (!m.graph || typeof m.graph.file !== 'string') problems.push('"graph.file" is missing');
  if (m.unit_groups !== undefined) {
    const g = m.unit_groups;
    if (!Array.isArray(g) || g.length === 0) problems.push('"unit_groups" must be a non-empty array');
    else if (isPositiveInt(m.unit_count) && !g.every((x) => Number.isInteger(x) && x >= 0 && x < m.unit_count)) {
      problems.push(`"unit_groups" entries must be integers in [0, unit_count ${m.unit_count})`);
    }
  }
  if (!m.files || typeof m.files !== 'object') problems.push('"files" (sha256 by file name) is missing');
  else if (m.graph && typeof m.graph.file === 'string' && !(m.graph.file in m.files)) problems.push(`"files" lacks the graph ${m.graph.file}`);
  return problems;
}

export async function loadSpeaker(dir: string, options: SpeakerOptions = {}): Promise<Speaker> {
  const manifest = await readManifestFile(path.join(dir, SPEAKER_MANIFEST_FILE), 'speaker', speakerManifestProblems, SpeakerLoadError);
  const graphBytes = await readCheckedFiles(dir, SPEAKER_MANIFEST_FILE, manifest.files, manifest.graph.file, SpeakerLoadError);
  const graphPath = path.join(dir, manifest.graph.file);
  const session = await openCheckedSession(graphBytes, graphPath, { inputs: [SPEAKER_INPUT], outputs: [SPEAKER_OUTPUT] }, options.threads, SpeakerLoadError);

  const f = manifest.features;
  const geometry: FrameGeometry = { sampleRate: manifest.sample_rate, hop: f.hop, win: f.win, nFft: f.n_fft };
  const vocoder: SourceFilterOptions = {
    geometry,
    aperiodicFloor: manifest.vocoder.aperiodic_floor,
    aperiodicStartHz: manifest.vocoder.aperiodic_start_hz,
    aperiodicTop: manifest.vocoder.aperiodic_top,
  };
  const width = frameWidth(f.n_mels);
  const unitCount = manifest.unit_count;

  const frames = async (units: readonly number[]): Promise<Float32Array> => {
    const ids = new BigInt64Array(units.length);
    for (let i = 0; i < units.length; i++) {
      const u = units[i];
      if (!Number.isInteger(u) || u < 0 || u >= unitCount) throw new UnitRangeError(i, u, unitCount);
      ids[i] = BigInt(u);
    }
    if (units.length === 0) return new Float32Array(0);
    const result = await session.run({ [SPEAKER_INPUT]: new ort.Tensor('int64', ids, [1, units.length]) });
    const out = result[SPEAKER_OUTPUT];
    const expected = units.length * manifest.frames_per_unit * width;
    if (out.data.length !== expected) {
      throw new SpeakerLoadError(graphPath, [`wrote ${out.data.length} values for ${units.length} units, expected ${expected}`]);
    }
    return out.data as Float32Array;
  };

  return {
    sampleRate: manifest.sample_rate,
    unitRate: manifest.unit_rate,
    unitCount,
    samplesPerUnit: manifest.frames_per_unit * f.hop,
    manifest,
    frames,
    fromCodebook(units) {
      const groups = manifest.unit_groups;
      if (!groups) return [...units];
      return units.map((u, i) => {
        if (!Number.isInteger(u) || u < 0 || u >= groups.length) throw new UnitRangeError(i, u, groups.length);
        return groups[u];
      });
    },
    async speak(units, options = {}) {
      const data = await frames(units);
      const shaped = stretchFrames({ data, frameCount: units.length * manifest.frames_per_unit, nMels: f.n_mels }, options);
      const audio = sourceFilter(shaped, vocoder);
      for (let i = 0; i < audio.length; i++) audio[i] = Math.max(-1, Math.min(1, audio[i]));
      return audio;
    },
    async release() {
      await session.release();
    },
  };
}
