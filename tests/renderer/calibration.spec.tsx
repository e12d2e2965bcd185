import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CalibrationInfo, StudioApi, StudioEvent, StudioSettings } from '../../electron/ipc-contract.ts';
import { calibratedGamma, calibrationStatus, describeChoice, tuningOf } from '../../renderer/src/lib/calibration.ts';
import { applyEvents } from '../../renderer/src/store/apply-events.ts';
import { initialState, type StudioState } from '../../renderer/src/store/state.ts';

const SETTINGS: StudioSettings = { provider: 'cpu', threads: 1, defaultStrategy: 'eagle', defaultGamma: 3, useCalibration: true };
const NONE: CalibrationInfo = {
  state: 'none',
  machine: 'AMD EPYC, 2 cores',
  choice: null,
  gammas: {},
  adaptive: null,
  progress: null,
  jobId: null,
  message: null,
};
const READY: CalibrationInfo = {
  ...NONE,
  state: 'ready',
  choice: { strategy: 'draft', gamma: 5, threads: 1, targetThreads: 2, tokensPerSecond: 1234.4, speedup: 1.62 },
  gammas: { draft: 5, eagle: 4, 'early-exit': 2 },
};

describe('calibration display', () => {
  it('says what the calibration chose, or where it is', () => {
    expect(describeChoice(READY.choice!)).toBe('draft γ 5, 1+2 threads');
    expect(describeChoice({ strategy: 'ar', gamma: 0, threads: 1, targetThreads: 2 })).toBe('ar, 2 threads');
    expect(calibrationStatus(READY)).toBe('Calibrated for AMD EPYC, 2 cores: draft γ 5, 1+2 threads, predicted 1,234 units/s (1.62× ar).');
    expect(calibrationStatus({ ...NONE, state: 'running', progress: 0.42, jobId: 'c1' })).toBe('Calibrating AMD EPYC, 2 cores… 42%');
    expect(
      calibrationStatus({ ...NONE, message: 'calibration x was measured for another setup (onnxruntime 1.29.0 → 1.30.0); ignored; calibrating again' }),
    ).toMatch(/^Not calibrated for AMD EPYC, 2 cores yet: .* another setup \(onnxruntime 1\.29\.0 → 1\.30\.0\); ignored; calibrating again\.$/);
    expect(calibrationStatus({ ...NONE, state: 'failed', message: 'calibration failed: disk full' })).toBe('calibration failed: disk full');
    expect(calibratedGamma(READY, 'eagle')).toBe(4);
    expect(calibratedGamma(NONE, 'eagle')).toBeUndefined();
  });

  it('a finished measurement sets the tuning when the settings use it, and only then', () => {
    const running: StudioState = { ...initialState(), settings: SETTINGS, calibration: { ...NONE, state: 'running', progress: 0.9, jobId: 'c1' } };
    const event: StudioEvent = { type: 'calibration', info: READY };
    expect(applyEvents(running, [event])).toMatchObject({ calibration: READY, tuning: { strategy: 'draft', gamma: 5 } });
    expect(applyEvents({ ...running, settings: { ...SETTINGS, useCalibration: false } }, [event]).tuning).toBeUndefined();
    // A calibration read at startup (not one that just ran) leaves a tuning the user has set alone.
    expect(applyEvents({ ...running, calibration: READY }, [event]).tuning).toBeUndefined();
  });
});

describe('adaptive gamma from the calibration', () => {
  const TIMED: CalibrationInfo = { ...READY, adaptive: { strategy: 'draft', draftConfidence: 0.35, maxGamma: 6, speedupOverFixed: 1.08, chosen: true } };

  it('a timed-faster adaptive gamma turns it on, capped at its maxGamma, and the status says so', () => {
    expect(tuningOf(TIMED)).toEqual({ strategy: 'draft', gamma: 6, adaptive: true });
    expect(tuningOf({ ...TIMED, adaptive: { ...TIMED.adaptive!, chosen: false } })).toEqual({ strategy: 'draft', gamma: 5, adaptive: false });
    expect(tuningOf({ ...TIMED, adaptive: { ...TIMED.adaptive!, strategy: 'eagle' } })).toEqual({ strategy: 'draft', gamma: 5, adaptive: false });
    expect(calibrationStatus(TIMED)).toMatch(/Adaptive γ \(at most 6, confidence 0\.35\) timed 1\.08× the fixed γ: on by default\.$/);
    const running: StudioState = { ...initialState(), settings: SETTINGS, calibration: { ...NONE, state: 'running', progress: 0.9, jobId: 'c1' } };
    expect(applyEvents(running, [{ type: 'calibration', info: TIMED }]).tuning).toMatchObject({ strategy: 'draft', gamma: 6, adaptive: true });
  });

  it("synthesize sends gamma 'auto' with the cap and the calibrated threshold, and the slider's gamma without it", async () => {
    const sent: unknown[] = [];
    vi.stubGlobal('window', { spear: { synthesize: async (_doc: string, options: unknown) => (sent.push(options), 'j1') } });
    const { useStudio } = await import('../../renderer/src/store/state.ts');
    const { synthesize } = await import('../../renderer/src/actions.ts');
    useStudio.setState({ text: 'Hello there.', calibration: TIMED, tuning: { ...initialState().tuning, strategy: 'draft', gamma: 6, adaptive: true } });
    await synthesize();
    expect(sent[0]).toMatchObject({ strategy: 'draft', gamma: 'auto', maxGamma: 6, draftConfidence: 0.35 });
    useStudio.setState({ status: 'idle', tuning: { ...useStudio.getState().tuning, adaptive: false, gamma: 4 } });
    await synthesize();
    expect(sent[1]).toMatchObject({ strategy: 'draft', gamma: 4 });
    expect(sent[1]).not.toHaveProperty('maxGamma');
    vi.unstubAllGlobals();
    vi.resetModules();
  });
});

describe('calibration in the studio', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('the bridge starts the tuning from the calibration; Calibrate asks the service; a strategy picked alone gets its gamma', async () => {
    const calls: string[] = [];
    const api: Partial<StudioApi> = {
      onDecodeEvent: () => () => undefined,
      getSettings: async () => SETTINGS,
      listProviders: async () => ({ available: ['cpu'], active: null }),
      getCalibration: async () => READY,
      calibrate: async () => (calls.push('calibrate'), 'c2'),
    };
    vi.stubGlobal('window', { spear: api });
    const { startBridge } = await import('../../renderer/src/bridge.ts');
    const { useStudio } = await import('../../renderer/src/store/state.ts');
    const { CalibrationPanel } = await import('../../renderer/src/components/CalibrationPanel.tsx');
    const { runCalibration, setTuning } = await import('../../renderer/src/actions.ts');
    const stop = startBridge({ request: () => 0, cancel: () => undefined });
    await vi.waitFor(() => expect(useStudio.getState().tuning).toMatchObject({ strategy: 'draft', gamma: 5 }));
    expect(useStudio.getState().calibration).toEqual(READY);
    // NOTE: a server render sees the store's initial state (zustand's server snapshot): calibration not read yet.
    const html = renderToStaticMarkup(<CalibrationPanel />);
    expect(html).toContain('Reading the calibration…');
    expect(html).toMatch(/<button type="button"[^>]*disabled=""[^>]*>Calibrate<\/button>/);
    await runCalibration();
    expect(calls).toEqual(['calibrate']);
    // Picking a strategy alone takes the gamma calibrated for it.
    setTuning({ strategy: 'eagle' });
    expect(useStudio.getState().tuning).toMatchObject({ strategy: 'eagle', gamma: 4 });
    setTuning({ strategy: 'early-exit', gamma: 7 });
    expect(useStudio.getState().tuning).toMatchObject({ strategy: 'early-exit', gamma: 7 });
    stop();
  });
});
