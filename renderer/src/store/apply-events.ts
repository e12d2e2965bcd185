/**
 * Service events → store, as one pure function over a batch (bridge.ts calls it once per animation
 * frame). Events of jobs the store no longer tracks (cancelled, superseded) are ignored.
 */
import type { StudioEvent } from '../../../electron/ipc-contract.ts';
import { addStep, EMPTY_STATS, stepView } from '../lib/decode-stats.ts';
import { errorText, providerLabel } from '../lib/format.ts';
import { tuningOf } from '../lib/calibration.ts';
import { STEPS_KEPT, type Notice, type SentenceProgress, type StudioState } from './state.ts';

let noticeId = 0;
export function notice(kind: Notice['kind'], text: string): Notice {
  return { id: ++noticeId, kind, text };
}

/** The lowest-index sentence that has begun decoding and has no units yet. */
function firstUnfinished(perSentence: Record<number, SentenceProgress>): number | null {
  let best: number | null = null;
  for (const [key, p] of Object.entries(perSentence)) {
    const i = Number(key);
    if (p.units === null && (best === null || i < best)) best = i;
  }
  return best;
}

export function applyEvents(state: StudioState, events: readonly StudioEvent[]): Partial<StudioState> {
  const next: Partial<StudioState> = {};
  const get = <K extends keyof StudioState>(key: K): StudioState[K] => (key in next ? (next[key] as StudioState[K]) : state[key]);
  let perSentence: Record<number, SentenceProgress> | null = null;
  const copiedSentences = new Set<number>();
  let audio: StudioState['audio'] | null = null;

  for (const e of events) {
    switch (e.type) {
      case 'job': {
        if (e.jobId !== get('jobId')) break;
        const event = e.event;
        if (event.type === 'warning') {
          // The reader's warnings stay until dismissed: they explain what will sound wrong.
          next.notices = [...get('notices').slice(-4), notice('warning', `Note: ${event.message}.`)];
        } else if (event.type === 'sentences') {
          next.jobSentences = event.sentences;
          next.status = 'running';
        } else if (event.type === 'step') {
          perSentence ??= { ...get('perSentence') };
          let progress = perSentence[event.sentence];
          if (!copiedSentences.has(event.sentence)) {
            progress = progress ? { ...progress, steps: [...progress.steps] } : { stats: EMPTY_STATS, steps: [], units: null, check: null };
            copiedSentences.add(event.sentence);
            perSentence[event.sentence] = progress;
          }
          progress.stats = addStep(progress.stats, event, e.t);
          progress.steps.push(stepView(event));
          if (progress.steps.length > STEPS_KEPT) progress.steps.splice(0, progress.steps.length - STEPS_KEPT);
          next.totals = addStep(get('totals'), event, e.t);
          next.status = 'running';
        } else if (event.type === 'units') {
          perSentence ??= { ...get('perSentence') };
          const progress = perSentence[event.sentence] ?? { stats: EMPTY_STATS, steps: [], units: null, check: null };
          perSentence[event.sentence] = {
            ...progress,
            steps: copiedSentences.has(event.sentence) ? progress.steps : [...progress.steps],
            units: event.units.length,
            check: event.check ?? null,
          };
          copiedSentences.add(event.sentence);
        } else if (event.type === 'audio') {
          audio ??= { ...get('audio') };
          audio[event.sentence] = { samples: event.samples, sampleRate: event.sampleRate, offsetSamples: event.offsetSamples };
        } else if (event.type === 'words') {
          next.words = { ...get('words'), [event.sentence]: event.words };
        } else if (event.type === 'done') {
          next.summary = event.summary;
          next.status = 'done';
        }
        break;
      }
      case 'job-error':
        if (e.jobId === get('jobId')) {
          next.status = 'error';
          next.error = errorText(e.message);
        } else if (e.jobId === get('sweepJobId')) {
          next.sweepStatus = 'error';
          next.sweepError = errorText(e.message);
        } else if (e.jobId === get('compareJobId')) {
          next.compareStatus = 'error';
          next.compareError = errorText(e.message);
          next.compareProgress = null;
        }
        break;
      case 'job-canceled':
        if (e.jobId === get('jobId') && get('status') !== 'done') next.status = 'canceled';
        if (e.jobId === get('sweepJobId') && get('sweepStatus') !== 'done') next.sweepStatus = 'canceled';
        if (e.jobId === get('compareJobId') && get('compareStatus') !== 'done') {
          next.compareStatus = 'canceled';
          next.compareProgress = null;
        }
        break;
      case 'compare-progress':
        if (e.jobId !== get('compareJobId') || get('compareStatus') === 'canceled') break;
        next.compareStatus = 'running';
        next.compareProgress = { done: e.done, total: e.total, label: e.label };
        next.compareResult = e.result;
        break;
      case 'compare-done':
        if (e.jobId !== get('compareJobId')) break;
        next.compareStatus = 'done';
        next.compareProgress = null;
        next.compareResult = e.result;
        break;
      case 'sweep-progress':
        if (e.jobId !== get('sweepJobId')) break;
        next.sweepStatus = 'running';
        next.sweepProgress = { done: e.done, total: e.total, label: e.label };
        if (e.point) next.sweepPoints = [...get('sweepPoints').filter((p) => p.gamma !== e.point!.gamma), e.point].sort((a, b) => a.gamma - b.gamma);
        break;
      case 'sweep-done':
        if (e.jobId !== get('sweepJobId')) break;
        next.sweepStatus = 'done';
        next.sweepResult = e.result;
        next.sweepPoints = e.result.points;
        next.sweepProgress = null;
        break;
      case 'export-progress':
        if (e.exportId !== get('exportId')) break;
        next.exportFraction = e.fraction;
        break;
      case 'calibration': {
        const before = get('calibration');
        next.calibration = e.info;
        // A measurement that just finished sets the tuning, as a restart with it would.
        const choice = e.info.choice;
        if (e.info.state === 'ready' && before?.state === 'running' && choice && get('settings')?.useCalibration) {
          next.tuning = { ...get('tuning'), ...tuningOf(e.info) };
        }
        break;
      }
      case 'provider': {
        const r = e.report;
        next.providerNotice = r.fallbackReason
          ? `${providerLabel(r.requested)} could not be used, so the voice runs on ${providerLabel(r.used)}: ${r.fallbackReason}`
          : null;
        const providers = get('providers');
        next.providers = { available: providers?.available ?? [], active: r };
        break;
      }
    }
  }
  if (perSentence) {
    next.perSentence = perSentence;
    next.active = firstUnfinished(perSentence);
  }
  if (audio) next.audio = audio;
  return next;
}
