/**
 * The speaking stage: semantic units → audio at the speaker's rate. Two kinds, named by speaker.json's `vocoder.kind`:
 *
 * - "source-filter" (the shipped speaker, 24 kHz): an ONNX network (native-models/spear_voice/speaker/model.py)
 *   writes vocoder frames (log-mel envelope, log f0, voicing) at 100 Hz, and the TypeScript source–filter
 *   vocoder (electron/core/audio/dsp/source-filter.ts) turns them into samples.
 * - "waveform" (the neural speaker, native-models/spear_voice/speaker/neural.py): the graph writes the samples
 *   itself, at the manifest's sample_rate. It is spoken in windows with `context_units` on each side, each
 *   window's middle kept: the first of `chunk_units` units, so its audio is ready long before the sentence's, then
 *   windows twice as long each time up to 8 × chunk_units, so the context costs less.
 *
 * Files: speaker.json (manifest), speaker.onnx, parity.json, and codebook.npz where the speaker carries it.
 * Every file's sha256 and the graph's tensor names are checked once, at load.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { frameWidth } from '../audio/dsp/features.ts';
import { sourceFilter, type SourceFilterOptions } from '../audio/dsp/source-filter.ts';
import { stretchFrames, type StretchOptions } from '../audio/dsp/stretch.ts';
import type { FrameGeometry } from '../audio/dsp/stft.ts';
import { joinSamples } from '../audio/samples.ts';
import { ModelLoadError, SpearError } from '../errors.ts';
import { openCheckedSession, readCheckedFiles, readManifestFile } from './model-files.ts';

export const SPEAKER_MANIFEST_FILE = 'speaker.json';
export const SPEAKER_FORMAT = 'spear-speaker/1';
/** ONNX tensor names (twins: native-models/spear_voice/speaker/export.py INPUT, OUTPUT). */
export const SPEAKER_INPUT = 'units';
export const SPEAKER_OUTPUT = 'frames';
/** The waveform kind's output (twin: native-models/spear_voice/speaker/neural_export.py OUTPUT). */
export const WAVEFORM_OUTPUT = 'audio';

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

/** A delivery option the speaker cannot honour (the waveform kind has no pitch control). */
export class SpeakerOptionError extends SpearError {}

export interface SourceFilterVocoder {
  kind: 'source-filter';
  aperiodic_floor: number;
  aperiodic_start_hz: number;
  aperiodic_top: number;
}

/** The graph writes samples; speak() runs it on windows of units (see the file's comment). */
export interface WaveformVocoder {
  kind: 'waveform';
  /** Units on each side of a window that make its middle equal the whole utterance's (neural.py context_units). */
  context_units: number;
  /** Units whose samples the first window delivers; each later window doubles it, up to 8 × chunk_units. */
  chunk_units: number;
}

export interface SpeakerManifest {
  format: string;
  sample_rate: number;
  unit_rate: number;
  unit_count: number;
  frames_per_unit: number;
  /** The frame geometry; `n_mels` only for the source-filter kind. */
  features: { hop: number; win: number; n_fft: number; n_mels: number };
  vocoder: SourceFilterVocoder | WaveformVocoder;
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

export interface SpeakOptions extends StretchOptions {
  /** The waveform kind: units of the first window (later ones double, up to 8×); default the manifest's chunk_units. */
  chunkUnits?: number;
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
  speak(units: readonly number[], options?: SpeakOptions): Promise<Float32Array>;
  /**
   * The same samples as speak(), in pieces as they are ready: one per window of the waveform kind, one in all for
   * the source-filter kind. A unit outside the range throws before the first piece.
   */
  speakChunks(units: readonly number[], options?: SpeakOptions): AsyncGenerator<Float32Array>;
  /** The source-filter kind's raw vocoder frames, (units.length × frames_per_unit, n_mels + 2) row-major. */
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
  const waveform = m.vocoder?.kind === 'waveform';
  const sizes = waveform ? ([f?.hop, f?.win, f?.n_fft] as unknown[]) : [f?.hop, f?.win, f?.n_fft, f?.n_mels];
  if (!f || !sizes.every(isPositiveInt)) problems.push(`"features" needs positive integers hop, win, n_fft${waveform ? '' : ', n_mels'}`);
  else {
    if (!waveform && ((f.n_fft & (f.n_fft - 1)) !== 0 || f.n_fft < f.win)) problems.push(`features.n_fft ${f.n_fft} must be a power of two ≥ win ${f.win}`);
    if (!waveform && f.n_mels < 2) problems.push('features.n_mels must be ≥ 2');
    if (isPositiveInt(m.sample_rate) && isPositiveInt(m.frames_per_unit) && Math.abs(m.unit_rate - m.sample_rate / (f.hop * m.frames_per_unit)) > 1e-9) {
      problems.push(`unit_rate ${m.unit_rate} is not sample_rate / (hop × frames_per_unit) = ${m.sample_rate / (f.hop * m.frames_per_unit)}`);
    }
  }
  if (waveform) {
    const v = m.vocoder as WaveformVocoder;
    if (!Number.isInteger(v.context_units) || v.context_units < 0) problems.push('vocoder.context_units must be an integer ≥ 0');
    if (!isPositiveInt(v.chunk_units)) problems.push('vocoder.chunk_units must be a positive integer');
  } else if (m.vocoder?.kind !== 'source-filter') problems.push(`vocoder.kind ${JSON.stringify(m.vocoder?.kind)} is not "source-filter" or "waveform"`);
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
  const output = manifest.vocoder.kind === 'waveform' ? WAVEFORM_OUTPUT : SPEAKER_OUTPUT;
  const session = await openCheckedSession(graphBytes, graphPath, { inputs: [SPEAKER_INPUT], outputs: [output] }, options.threads, SpeakerLoadError);
  const unitCount = manifest.unit_count;
  const samplesPerUnit = manifest.frames_per_unit * manifest.features.hop;

  /** The graph on `units` (already checked), its output checked to hold `perUnit` values per unit. */
  const run = async (ids: BigInt64Array, perUnit: number): Promise<Float32Array> => {
    const result = await session.run({ [SPEAKER_INPUT]: new ort.Tensor('int64', ids, [1, ids.length]) });
    const out = result[output];
    if (out.data.length !== ids.length * perUnit) {
      throw new SpeakerLoadError(graphPath, [`wrote ${out.data.length} values for ${ids.length} units, expected ${ids.length * perUnit}`]);
    }
    return out.data as Float32Array;
  };
  const kind = manifest.vocoder.kind === 'waveform' ? waveformKind(manifest.vocoder, samplesPerUnit, run) : sourceFilterKind(manifest, manifest.vocoder, run);
  const checked = (units: readonly number[]): BigInt64Array => unitIds(units, unitCount);

  return {
    sampleRate: manifest.sample_rate,
    unitRate: manifest.unit_rate,
    unitCount,
    samplesPerUnit,
    manifest,
    frames: async (units) => kind.frames(checked(units)),
    fromCodebook(units) {
      const groups = manifest.unit_groups;
      if (!groups) return [...units];
      return units.map((u, i) => {
        if (!Number.isInteger(u) || u < 0 || u >= groups.length) throw new UnitRangeError(i, u, groups.length);
        return groups[u];
      });
    },
    speakChunks: (units, options = {}) => kind.chunks(checked(units), options),
    async speak(units, options = {}) {
      const pieces: Float32Array[] = [];
      for await (const piece of kind.chunks(checked(units), options)) pieces.push(piece);
      return pieces.length === 1 ? pieces[0] : joinSamples(pieces);
    },
    async release() {
      await session.release();
    },
  };
}

/** What differs between the two kinds: how checked unit ids become pieces of samples, and frames. */
interface SpeakerKind {
  chunks(ids: BigInt64Array, options: SpeakOptions): AsyncGenerator<Float32Array>;
  frames(ids: BigInt64Array): Promise<Float32Array>;
}

/** Unit ids as the graph's int64 input; a value outside [0, unitCount) throws UnitRangeError naming its index. */
function unitIds(units: readonly number[], unitCount: number): BigInt64Array {
  const ids = new BigInt64Array(units.length);
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    if (!Number.isInteger(u) || u < 0 || u >= unitCount) throw new UnitRangeError(i, u, unitCount);
    ids[i] = BigInt(u);
  }
  return ids;
}

const clip = (audio: Float32Array): Float32Array => {
  for (let i = 0; i < audio.length; i++) audio[i] = Math.max(-1, Math.min(1, audio[i]));
  return audio;
};

function sourceFilterKind(manifest: SpeakerManifest, v: SourceFilterVocoder, run: (ids: BigInt64Array, perUnit: number) => Promise<Float32Array>): SpeakerKind {
  const f = manifest.features;
  const geometry: FrameGeometry = { sampleRate: manifest.sample_rate, hop: f.hop, win: f.win, nFft: f.n_fft };
  const vocoder: SourceFilterOptions = {
    geometry,
    aperiodicFloor: v.aperiodic_floor,
    aperiodicStartHz: v.aperiodic_start_hz,
    aperiodicTop: v.aperiodic_top,
  };
  const perUnit = manifest.frames_per_unit * frameWidth(f.n_mels);
  const frames = async (ids: BigInt64Array): Promise<Float32Array> => (ids.length === 0 ? new Float32Array(0) : run(ids, perUnit));
  return {
    frames,
    async *chunks(ids, options) {
      const data = await frames(ids);
      const shaped = stretchFrames({ data, frameCount: ids.length * manifest.frames_per_unit, nMels: f.n_mels }, options);
      yield clip(sourceFilter(shaped, vocoder));
    },
  };
}

/**
 * The waveform kind. Rate changes repeat or skip units (each output unit j speaks unit floor(j · rate)), so the
 * pitch stays; a pitch shift is refused, the graph has no pitch control.
 */
function waveformKind(v: WaveformVocoder, samplesPerUnit: number, run: (ids: BigInt64Array, perUnit: number) => Promise<Float32Array>): SpeakerKind {
  return {
    async frames() {
      throw new SpeakerOptionError('this speaker writes samples (vocoder kind "waveform"): it has no vocoder frames');
    },
    async *chunks(input, options) {
      if ((options.pitchSemitones ?? 0) !== 0) {
        throw new SpeakerOptionError(`pitchSemitones = ${options.pitchSemitones} is not allowed: the waveform speaker speaks at pitch 0 only`);
      }
      const ids = stretchUnits(input, options.rate ?? 1);
      const chunk = options.chunkUnits ?? v.chunk_units;
      if (!(chunk >= 1)) throw new SpeakerOptionError(`chunkUnits = ${chunk} is not allowed: want at least 1`);
      if (ids.length === 0) {
        yield new Float32Array(0);
        return;
      }
      // Windows double from `chunk` units up to 8 × chunk: the first arrives early, later ones pay less context.
      for (let start = 0, k = 0; start < ids.length; k++) {
        const end = Math.min(ids.length, start + chunk * 2 ** Math.min(k, 3));
        const lo = Math.max(0, start - v.context_units);
        const hi = Math.min(ids.length, end + v.context_units);
        const audio = await run(ids.slice(lo, hi), samplesPerUnit);
        yield clip(audio.slice((start - lo) * samplesPerUnit, (end - lo) * samplesPerUnit));
        start = end;
      }
    },
  };
}

/** Units spoken at `rate`: round(n / rate) of them, output unit j being input unit floor(j · rate). */
function stretchUnits(ids: BigInt64Array, rate: number): BigInt64Array {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new SpeakerOptionError(`rate = ${rate} is not allowed: want a positive number`);
  if (rate === 1 || ids.length === 0) return ids;
  const n = Math.max(1, Math.round(ids.length / rate));
  const out = new BigInt64Array(n);
  for (let j = 0; j < n; j++) out[j] = ids[Math.min(ids.length - 1, Math.floor(j * rate))];
  return out;
}
