import { describe, expect, it } from 'vitest';
import type { PipelineEvent, StudioEvent, SweepPoint } from '../../electron/ipc-contract.ts';
import { applyEvents } from '../../renderer/src/store/apply-events.ts';
import { initialState, STEPS_KEPT, type StudioState } from '../../renderer/src/store/state.ts';

const JOB = 'job-1';
const job = (event: PipelineEvent, t = 0, jobId = JOB): StudioEvent => ({ type: 'job', jobId, t, event });
const step = (sentence: number, stepNo: number, drafted: number[], accepted: number, bonus = false): PipelineEvent => ({
  type: 'step',
  sentence,
  step: stepNo,
  drafted,
  accepted,
  token: 500 + stepNo,
  bonus,
  emitted: accepted + 1,
  draftMs: 1,
  verifyMs: 3,
});

function running(): StudioState {
  return { ...initialState(), jobId: JOB, status: 'starting', strategy: 'early-exit', gamma: 4 };
}

/** Applies batches one after the other, like successive animation frames. */
function apply(state: StudioState, ...batches: StudioEvent[][]): StudioState {
  return batches.reduce((s, batch) => ({ ...s, ...applyEvents(s, batch) }), state);
}

describe('decoding slice', () => {
  it('follows a job from sentences through steps, units, audio to done', () => {
    const sentences = [
      { index: 0, text: 'One.', start: 0, end: 4 },
      { index: 1, text: 'Two.', start: 5, end: 9 },
    ];
    let s = apply(running(), [job({ type: 'sentences', sentences })]);
    expect(s.status).toBe('running');
    expect(s.jobSentences).toEqual(sentences);

    s = apply(s, [job(step(0, 0, [10, 11, 12, 13], 2), 5), job(step(0, 1, [14, 15, 16, 17], 4, true), 9), job(step(1, 0, [1, 2, 3, 4], 0), 9)]);
    expect(s.perSentence[0].steps.map((v) => v.rejectedAt)).toEqual([2, null]);
    expect(s.perSentence[0].steps[1].tokenKind).toBe('bonus');
    expect(s.perSentence[0].steps[0].tokenKind).toBe('replacement');
    expect(s.totals).toMatchObject({ steps: 3, drafted: 12, accepted: 6, rejections: 2, emitted: 9, firstT: 5, lastT: 9 });
    expect(s.active).toBe(0);

    const check = { score: 0.9, rereadings: 3, chosen: 1, chosenScore: 0.2 };
    s = apply(s, [job({ type: 'units', sentence: 0, units: [1, 2, 3, 4, 5, 6, 7, 8], steps: 2, drafted: 8, accepted: 6, check })]);
    expect(s.perSentence[0].units).toBe(8);
    expect(s.perSentence[0].check).toEqual(check);
    expect(s.active).toBe(1);

    const samples = new Float32Array([0, 0.5, -0.5]);
    s = apply(s, [job({ type: 'audio', sentence: 0, samples, sampleRate: 16000, offsetSamples: 0 })]);
    expect(s.audio[0].samples).toBe(samples);

    const summary = { strategy: 'early-exit', gamma: 4, tokensPerSecond: 100 } as never;
    s = apply(s, [job({ type: 'done', summary })]);
    expect(s.status).toBe('done');
    expect(s.summary).toBe(summary);
  });

  it('keeps the latest steps of a sentence only, and does not mutate the previous state', () => {
    const before = running();
    const events = Array.from({ length: STEPS_KEPT + 25 }, (_, i) => job(step(0, i, [1, 2], 1), i));
    const after = apply(before, events);
    expect(after.perSentence[0].steps).toHaveLength(STEPS_KEPT);
    expect(after.perSentence[0].steps.at(-1)!.step).toBe(STEPS_KEPT + 24);
    expect(after.perSentence[0].stats.steps).toBe(STEPS_KEPT + 25);
    expect(before.perSentence).toEqual({});
    const again = apply(after, [job(step(0, 999, [1], 1))]);
    expect(after.perSentence[0].steps.at(-1)!.step).toBe(STEPS_KEPT + 24);
    expect(again.perSentence[0].steps.at(-1)!.step).toBe(999);
  });

  it("keeps each sentence's word timings", () => {
    const words = [{ text: 'Hi', start: 0, end: 2, startSeconds: 0, endSeconds: 0.3 }];
    const s = apply(running(), [job({ type: 'words', sentence: 1, words }, 0)]);
    expect(s.words[1]).toEqual(words);
  });

  it("turns the reader's warnings into notices that stay", () => {
    const s = apply(running(), [job({ type: 'warning', message: 'the text looks German; the voice reads English' }, 0)]);
    expect(s.notices.at(-1)).toMatchObject({ kind: 'warning', text: 'Note: the text looks German; the voice reads English.' });
  });

  it('ignores events of other jobs, and records errors and cancellation of its own', () => {
    const s = apply(running(), [job(step(0, 0, [1], 1), 0, 'old-job'), { type: 'job-error', jobId: 'old-job', message: 'x' }]);
    expect(s.perSentence).toEqual({});
    expect(s.status).toBe('starting');
    expect(apply(s, [{ type: 'job-error', jobId: JOB, message: 'model is bad' }])).toMatchObject({ status: 'error', error: 'model is bad' });
    // A class name that reaches the renderer anyway is not shown.
    expect(apply(s, [{ type: 'job-error', jobId: JOB, message: 'NothingToSayError: nothing to read aloud: the text is empty' }])).toMatchObject({
      status: 'error',
      error: 'nothing to read aloud: the text is empty',
    });
    expect(apply(s, [{ type: 'job-canceled', jobId: JOB }]).status).toBe('canceled');
  });
});

describe('sweep slice', () => {
  const point = (gamma: number): SweepPoint => ({
    gamma,
    tokensPerSecond: 100 + gamma,
    acceptanceRate: 0.7,
    meanAcceptedTokens: 2,
    costRatio: 0.1,
    measuredSpeedup: 1.5,
    theoreticalSpeedup: 1.6,
  });

  it('collects points in gamma order as they arrive, then takes the result', () => {
    let s: StudioState = { ...initialState(), sweepJobId: 'sw', sweepStatus: 'starting' };
    s = apply(s, [
      { type: 'sweep-progress', jobId: 'sw', done: 2, total: 9, label: 'γ 2', point: point(2) },
      { type: 'sweep-progress', jobId: 'sw', done: 1, total: 9, label: 'γ 1', point: point(1) },
    ]);
    expect(s.sweepPoints.map((p) => p.gamma)).toEqual([1, 2]);
    expect(s.sweepProgress).toEqual({ done: 1, total: 9, label: 'γ 1' });
    const result = {
      strategy: 'draft',
      baselineTokensPerSecond: 50,
      points: [point(1), point(2)],
      theory: { alpha: 0.7, costRatio: 0.1, curve: [] },
      bestGamma: 2,
    } as const;
    s = apply(s, [{ type: 'sweep-done', jobId: 'sw', result: { ...result, points: [...result.points], theory: { ...result.theory, curve: [] } } }]);
    expect(s.sweepStatus).toBe('done');
    expect(s.sweepResult?.bestGamma).toBe(2);
    expect(s.sweepProgress).toBeNull();
  });
});

describe('settings slice', () => {
  it('shows a notice when a GPU provider fell back to CPU, and clears it when not', () => {
    let s = apply(initialState(), [{ type: 'provider', report: { requested: 'cuda', used: 'cpu', fallbackReason: 'no CUDA here' } }]);
    expect(s.providerNotice).toMatch(/CUDA could not be used, so the voice runs on CPU: no CUDA here/);
    expect(s.providers?.active?.used).toBe('cpu');
    s = apply(s, [{ type: 'provider', report: { requested: 'cpu', used: 'cpu' } }]);
    expect(s.providerNotice).toBeNull();
  });
});

describe('export slice', () => {
  it('tracks progress of its own export only', () => {
    const s: StudioState = { ...initialState(), exportId: 'e1', exportStatus: 'running' };
    expect(apply(s, [{ type: 'export-progress', exportId: 'e1', phase: 'encoding', fraction: 0.4 }]).exportFraction).toBe(0.4);
    expect(apply(s, [{ type: 'export-progress', exportId: 'e2', phase: 'encoding', fraction: 0.4 }]).exportFraction).toBe(0);
  });
});
