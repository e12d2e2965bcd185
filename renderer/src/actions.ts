/**
 * What the user can do. Each action asks the service and writes the outcome into the store;
 * components call these and show the store. ("No store actions": the store holds state only.)
 */
import type { AudioFormat, ExportResult, ResultsFormat, Strategy, StudioSettings } from '../../electron/ipc-contract.ts';
import { getApi } from './api.ts';
import { decodeText, fileKind, fileProblem, fromBase64, MAX_DOCUMENT_CHARS, toBase64 } from './lib/files.ts';
import { playClip, resetPlayer } from './player.ts';
import { notice } from './store/apply-events.ts';
import { initialDecoding, useStudio, type CompareChoice, type MedusaTree, type Tuning } from './store/state.ts';
import { EMPTY_STATS } from './lib/decode-stats.ts';
import { errorText } from './lib/format.ts';
import { calibratedGamma } from './lib/calibration.ts';

const set = useStudio.setState;
const get = useStudio.getState;

export function reportError(text: string): void {
  set((s) => ({ notices: [...s.notices.slice(-4), notice('error', text)] }));
}

export function dismissNotice(id: number): void {
  set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

const message = errorText;

// ---------------------------------------------------------------- document

let segmentTimer: ReturnType<typeof setTimeout> | null = null;
let segmentRequest = 0;

export function setText(text: string, fileName: string | null = get().fileName): void {
  if (text.length > MAX_DOCUMENT_CHARS) {
    set({
      fileMessage: { kind: 'error', text: `The text is longer than ${MAX_DOCUMENT_CHARS.toLocaleString('en')} characters; only files up to 1 MB are read.` },
    });
    return;
  }
  set({ text, fileName });
  if (segmentTimer) clearTimeout(segmentTimer);
  segmentTimer = setTimeout(() => void segmentNow(), 200);
}

export async function segmentNow(): Promise<void> {
  const request = ++segmentRequest;
  const { text } = get();
  try {
    const sentences = text.trim() === '' ? [] : await getApi().segment(text);
    if (request === segmentRequest) set({ sentences });
  } catch (error) {
    reportError(`Could not split the text into sentences: ${message(error)}`);
  }
}

export async function loadFile(file: File): Promise<void> {
  const problem = fileProblem(file);
  if (problem) {
    set({ fileMessage: { kind: 'error', text: problem } });
    return;
  }
  let text: string;
  let what = '';
  if (fileKind(file) === 'document') {
    set({ fileMessage: { kind: 'info', text: `Reading “${file.name}”…` } });
    try {
      const doc = await getApi().importDocument(file.name, toBase64(await file.arrayBuffer()));
      text = doc.text;
      what = ` (${DOCUMENT_FORMAT_NAMES[doc.format]}${doc.title ? `: ${doc.title}` : ''})`;
    } catch (error) {
      set({ fileMessage: { kind: 'error', text: message(error) } });
      return;
    }
  } else {
    const decoded = decodeText(file.name, await file.arrayBuffer());
    if ('problem' in decoded) {
      set({ fileMessage: { kind: 'error', text: decoded.problem } });
      return;
    }
    text = decoded.text;
  }
  setText(text, file.name);
  set({ fileMessage: { kind: 'info', text: `Read “${file.name}”${what}.` } });
  if (segmentTimer) clearTimeout(segmentTimer);
  await segmentNow();
}

const DOCUMENT_FORMAT_NAMES = { text: 'text', markdown: 'Markdown', html: 'HTML', epub: 'EPUB', pdf: 'PDF' } as const;

// ---------------------------------------------------------------- decoding

export function setTuning(patch: Partial<Tuning>): void {
  set((s) => {
    // A strategy picked alone gets the gamma this machine's calibration found for it.
    const gamma = patch.strategy && patch.gamma === undefined && s.settings?.useCalibration ? calibratedGamma(s.calibration, patch.strategy) : undefined;
    return { tuning: { ...s.tuning, ...patch, ...(gamma !== undefined ? { gamma } : {}) } };
  });
}

/** The trees the decoding panel offers 'medusa' (engine tree.ts specs), each verified in one target call. */
export const MEDUSA_TREES: Record<Exclude<MedusaTree, 'chain'>, { spec: number[] | number[][]; label: string }> = {
  'top2-top1': { spec: [2, 1], label: 'tree: 2 candidates, then 1 under each (5 positions)' },
  sparse4: { spec: [[0], [1], [0, 0], [0, 1]], label: 'sparse tree of 4 nodes (5 positions)' },
};

/** The tree a job verifies: medusa's chosen tree, or none (a chain). */
export function treeOf(tuning: Tuning): number[] | number[][] | null {
  return tuning.strategy === 'medusa' && tuning.tree !== 'chain' ? MEDUSA_TREES[tuning.tree].spec : null;
}

/** A tree's depth, its draft length: the depths listed, or the longest node's path. */
export function treeDepth(tree: number[] | number[][]): number {
  return tree.reduce<number>((depth, node) => Math.max(depth, Array.isArray(node) ? node.length : tree.length), 0);
}

/** Several drafts per step apply where a drafter samples a chain: greedy drafts would all be the same one. */
export function draftsApply(tuning: Tuning): boolean {
  return tuning.strategy !== 'ar' && tuning.temperature > 0 && treeOf(tuning) === null;
}

/** The drafts per step a job asks for: the field's K where it applies, else 1. */
export function specTrDrafts(tuning: Tuning): number {
  return draftsApply(tuning) ? tuning.drafts : 1;
}

export async function synthesize(): Promise<void> {
  const { text, tuning, status } = get();
  if (text.trim() === '') {
    reportError('There is no text to synthesize. Drop a .txt or .md file, paste, or type.');
    return;
  }
  if (status === 'starting') return;
  resetPlayer();
  const tree = treeOf(tuning);
  // A tree's depth is its draft length: no gamma, adaptive or not.
  const adaptive = tuning.adaptive && tuning.strategy !== 'ar' && tree === null;
  // The calibrated threshold where the calibration timed this strategy; else the engine's default.
  const timed = get().calibration?.adaptive;
  const draftConfidence = adaptive && timed?.strategy === tuning.strategy ? { draftConfidence: timed.draftConfidence } : {};
  set({
    ...initialDecoding,
    status: 'starting',
    jobText: text,
    strategy: tuning.strategy,
    gamma: tree ? treeDepth(tree) : adaptive ? 'auto' : tuning.gamma,
    totals: EMPTY_STATS,
    audio: {},
    position: 0,
  });
  try {
    const jobId = await getApi().synthesize(text, {
      strategy: tuning.strategy,
      ...(tree ? { tree } : adaptive ? { gamma: 'auto' as const, maxGamma: tuning.gamma, ...draftConfidence } : { gamma: tuning.gamma }),
      temperature: tuning.temperature,
      ...(specTrDrafts(tuning) > 1 ? { drafts: specTrDrafts(tuning) } : {}),
      ...(tuning.topK !== null ? { topK: tuning.topK } : {}),
      ...(tuning.topP !== null ? { topP: tuning.topP } : {}),
      rate: tuning.rate,
      pitch: tuning.pitch,
      volume: tuning.volume,
      sentencePauseMs: tuning.sentencePauseMs,
      paragraphPauseMs: tuning.paragraphPauseMs,
    });
    set((s) => (s.status === 'starting' ? { jobId } : {}));
  } catch (error) {
    set({ status: 'error', error: message(error) });
  }
}

export async function cancelJob(): Promise<void> {
  const { jobId, status } = get();
  if (!jobId || (status !== 'running' && status !== 'starting')) return;
  await getApi()
    .cancel(jobId)
    .catch((error) => reportError(message(error)));
}

export function pinSentence(sentence: number | null): void {
  set({ pinned: sentence });
}

// ---------------------------------------------------------------- sweep

export async function runSweep(): Promise<void> {
  const { text, tuning } = get();
  if (text.trim() === '') {
    reportError('The sweep runs on the current text; there is none yet.');
    return;
  }
  const strategy = tuning.strategy === 'ar' ? 'eagle' : tuning.strategy;
  set({ sweepStatus: 'starting', sweepPoints: [], sweepResult: null, sweepError: null, sweepProgress: null, sweepText: text, sweepJobId: null });
  try {
    const sweepJobId = await getApi().sweep(text, {
      strategy,
      temperature: tuning.temperature,
      ...(tuning.topK !== null ? { topK: tuning.topK } : {}),
      ...(tuning.topP !== null ? { topP: tuning.topP } : {}),
    });
    set({ sweepJobId });
  } catch (error) {
    set({ sweepStatus: 'error', sweepError: message(error) });
  }
}

export async function cancelSweep(): Promise<void> {
  const { sweepJobId } = get();
  if (sweepJobId)
    await getApi()
      .cancel(sweepJobId)
      .catch((error) => reportError(message(error)));
}

export function applyBestGamma(): void {
  const { sweepResult } = get();
  if (!sweepResult) return;
  setTuning({ gamma: sweepResult.bestGamma, strategy: sweepResult.strategy });
  set((s) => ({ notices: [...s.notices.slice(-4), notice('info', `Gamma set to ${sweepResult.bestGamma} (${sweepResult.strategy}).`)] }));
}

// ---------------------------------------------------------------- compare

/** Asks the service which strategies the voice runs; the first answer ticks every one at every gamma. */
export async function loadStrategies(): Promise<void> {
  try {
    const available = await getApi().listStrategies();
    set((s) => ({ compareAvailable: available, compareChoice: s.compareChoice ?? defaultCompareChoice(available) }));
  } catch (error) {
    set({ compareError: `Could not read the voice's strategies: ${message(error)}` });
  }
}

function defaultCompareChoice(available: readonly { strategy: Strategy; gammas: number[] }[]): CompareChoice {
  const drafting = available.filter((s) => s.gammas.length > 0);
  const gammas = [...new Set(drafting.flatMap((s) => s.gammas))].sort((a, b) => a - b);
  return { strategies: drafting.map((s) => s.strategy), gammas, repeats: 1, temperature: 0 };
}

export function setCompareChoice(patch: Partial<CompareChoice>): void {
  set((s) => (s.compareChoice ? { compareChoice: { ...s.compareChoice, ...patch } } : {}));
}

/** Ticks or unticks one value of a list of the choice (a strategy or a gamma), keeping the list's order. */
export function toggleCompare<K extends 'strategies' | 'gammas'>(key: K, value: CompareChoice[K][number], order: readonly CompareChoice[K][number][]): void {
  set((s) => {
    if (!s.compareChoice) return {};
    const chosen = s.compareChoice[key] as readonly (typeof value)[];
    const next = chosen.includes(value) ? chosen.filter((v) => v !== value) : order.filter((v) => v === value || chosen.includes(v));
    return { compareChoice: { ...s.compareChoice, [key]: next } };
  });
}

export async function runCompare(): Promise<void> {
  const { text, compareChoice: choice, compareStatus } = get();
  if (!choice || compareStatus === 'starting') return;
  if (text.trim() === '') {
    set({ compareStatus: 'error', compareError: 'The comparison runs on the current text; there is none yet.' });
    return;
  }
  set({ compareStatus: 'starting', compareJobId: null, compareResult: null, compareError: null, compareProgress: null, compareExportMessage: null });
  try {
    const compareJobId = await getApi().compare(text, {
      strategies: choice.strategies.filter((s): s is Exclude<Strategy, 'ar'> => s !== 'ar'),
      gammas: choice.gammas,
      repeats: choice.repeats,
      temperature: choice.temperature,
    });
    set((s) => (s.compareStatus === 'starting' ? { compareJobId } : {}));
  } catch (error) {
    set({ compareStatus: 'error', compareError: message(error) });
  }
}

export async function cancelCompare(): Promise<void> {
  const { compareJobId } = get();
  if (compareJobId)
    await getApi()
      .cancel(compareJobId)
      .catch((error) => reportError(message(error)));
}

/** The results so far (a finished, cancelled or running comparison's) as a JSON or CSV file. */
export async function exportCompareResults(format: ResultsFormat): Promise<void> {
  const { compareJobId } = get();
  if (!compareJobId) return;
  try {
    const result = await getApi().exportCompare(compareJobId, format);
    set({ compareExportMessage: { kind: 'info', text: savedText(result) } });
  } catch (error) {
    set({ compareExportMessage: { kind: 'error', text: `Export failed: ${message(error)}` } });
  }
}

// ---------------------------------------------------------------- export

/** What an export did, in words; a browser-mode export is downloaded here. */
function savedText(result: ExportResult): string {
  if (result.status === 'canceled') return 'Export cancelled.';
  if (result.status === 'saved') return `Saved ${result.path}`;
  // Browser mode: the server wrote the file; the browser's download saves it.
  const link = document.createElement('a');
  link.href = result.url;
  link.download = result.fileName;
  document.body.append(link);
  link.click();
  link.remove();
  return `Downloading ${result.fileName}`;
}

let exportCounter = 0;

export async function exportAudio(format: AudioFormat, sentence?: number): Promise<void> {
  const { jobId } = get();
  if (!jobId) return;
  const exportId = `export-${Date.now().toString(36)}-${++exportCounter}`;
  set({ exportId, exportStatus: 'running', exportFraction: 0, exportMessage: null });
  try {
    const result = await getApi().exportAudio(jobId, format, { exportId, ...(sentence !== undefined ? { sentence } : {}) });
    if (result.status === 'canceled') set({ exportStatus: 'canceled', exportMessage: 'Export cancelled.' });
    else set({ exportStatus: 'done', exportFraction: 1, exportMessage: savedText(result) });
  } catch (error) {
    const text = message(error);
    set((s) => (s.exportStatus === 'canceled' ? {} : { exportStatus: 'error', exportMessage: `Export failed: ${text}` }));
  }
}

export async function cancelExport(): Promise<void> {
  const { exportId, exportStatus } = get();
  if (!exportId || exportStatus !== 'running') return;
  set({ exportStatus: 'canceled', exportMessage: 'Export cancelled.' });
  await getApi()
    .cancel(exportId)
    .catch((error) => reportError(message(error)));
}

// ---------------------------------------------------------------- settings

export async function saveSettings(patch: Partial<StudioSettings>): Promise<void> {
  try {
    const settings = await getApi().setSettings(patch);
    const providers = await getApi().listProviders();
    set({ settings, providers });
    set((s) => ({ notices: [...s.notices.slice(-4), notice('info', 'Settings saved; the next synthesis uses them.')] }));
  } catch (error) {
    reportError(`Could not save the settings: ${message(error)}`);
  }
}

// ---------------------------------------------------------------- lexicon

/** The core's messages name their source ("lexicon: …"); the panel says that already. */
const lexiconMessage = (error: unknown): string => message(error).replace(/^lexicon: /, '');

export async function loadLexicon(): Promise<void> {
  try {
    const { entries, notice } = await getApi().getLexicon();
    set({ lexicon: entries, lexiconNotice: notice });
  } catch (error) {
    set({ lexiconError: `Could not read your pronunciations: ${message(error)}` });
  }
}

/** Adds or replaces a word's pronunciation; true when saved (the form may clear itself). */
export async function addLexiconEntry(word: string, pronunciation: string): Promise<boolean> {
  if (word.trim() === '' || pronunciation.trim() === '') {
    set({ lexiconError: 'Give a word and how to say it: phonemes such as “W IH1 N”, or a respelling such as “win”.' });
    return false;
  }
  try {
    const { entries, notice } = await getApi().addLexiconEntry(word.trim(), pronunciation.trim());
    set({ lexicon: entries, lexiconNotice: notice, lexiconError: null });
    return true;
  } catch (error) {
    set({ lexiconError: lexiconMessage(error) });
    return false;
  }
}

export async function removeLexiconEntry(word: string): Promise<void> {
  try {
    const { entries, notice } = await getApi().removeLexiconEntry(word);
    set({ lexicon: entries, lexiconNotice: notice, lexiconError: null });
  } catch (error) {
    set({ lexiconError: lexiconMessage(error) });
  }
}

/** Reads the word aloud on its own, with `pronunciation` (not saved) or as the lexicon says, and plays it. */
export async function hearWord(word: string, pronunciation: string | null = null): Promise<void> {
  if (word.trim() === '' || get().hearing) return;
  set({ hearing: word.trim(), lexiconError: null });
  try {
    const preview = await getApi().hearWord(word.trim(), pronunciation?.trim() || null);
    await playClip(fromBase64(preview.wavBase64));
  } catch (error) {
    set({ lexiconError: lexiconMessage(error) });
  } finally {
    set({ hearing: null });
  }
}

// ---------------------------------------------------------------- calibration

export async function runCalibration(): Promise<void> {
  try {
    await getApi().calibrate();
  } catch (error) {
    reportError(`Could not calibrate: ${message(error)}`);
  }
}

export async function cancelCalibration(): Promise<void> {
  const jobId = get().calibration?.jobId;
  if (jobId)
    await getApi()
      .cancel(jobId)
      .catch((error) => reportError(message(error)));
}
