import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StudioApi, StudioEvent } from '../../electron/ipc-contract.ts';
import { createFrameBatcher, type FrameScheduler } from '../../renderer/src/lib/frame-batcher.ts';

/** A scheduler whose frames run when the test says so. */
function manualFrames(): FrameScheduler & { frames: (() => void)[]; run(): void } {
  const frames: (() => void)[] = [];
  return {
    frames,
    request(callback) {
      frames.push(callback);
      return frames.length;
    },
    cancel(handle) {
      frames[handle - 1] = () => undefined;
    },
    run() {
      const pending = frames.splice(0);
      for (const f of pending) f();
    },
  };
}

describe('createFrameBatcher', () => {
  it('delivers everything pushed within a frame once, in order, and schedules one frame per batch', () => {
    const scheduler = manualFrames();
    const delivered: number[][] = [];
    const batcher = createFrameBatcher<number>((items) => delivered.push(items), scheduler);
    for (let i = 0; i < 1000; i++) batcher.push(i);
    expect(scheduler.frames).toHaveLength(1);
    expect(delivered).toHaveLength(0);
    scheduler.run();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    batcher.push(1000);
    expect(scheduler.frames).toHaveLength(1);
    scheduler.run();
    expect(delivered[1]).toEqual([1000]);
    scheduler.run();
    expect(delivered).toHaveLength(2);
  });

  it('flush hands over now; dispose drops what is queued', () => {
    const scheduler = manualFrames();
    const delivered: string[][] = [];
    const batcher = createFrameBatcher<string>((items) => delivered.push(items), scheduler);
    batcher.push('a');
    batcher.flush();
    expect(delivered).toEqual([['a']]);
    scheduler.run();
    expect(delivered).toHaveLength(1);
    batcher.push('b');
    batcher.dispose();
    scheduler.run();
    expect(delivered).toHaveLength(1);
  });
});

describe('bridge', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('subscribes once and writes a whole frame of decode events into the store with one update', async () => {
    let emit: (event: StudioEvent) => void = () => undefined;
    let subscriptions = 0;
    const api: Partial<StudioApi> = {
      onDecodeEvent(callback) {
        subscriptions++;
        emit = callback;
        return () => undefined;
      },
      getSettings: async () => ({ provider: 'cpu', threads: 1, defaultStrategy: 'draft', defaultGamma: 5, useCalibration: true }),
      listProviders: async () => ({ available: ['cpu'], active: null }),
      getCalibration: async () => ({
        state: 'none',
        machine: 'Test CPU, 2 cores',
        choice: null,
        gammas: {},
        adaptive: null,
        progress: null,
        jobId: null,
        message: null,
      }),
    };
    vi.stubGlobal('window', { spear: api });
    const { startBridge } = await import('../../renderer/src/bridge.ts');
    const { useStudio } = await import('../../renderer/src/store/state.ts');
    const scheduler = manualFrames();
    const stop = startBridge(scheduler);
    startBridge(scheduler);
    expect(subscriptions).toBe(1);
    await vi.waitFor(() => expect(useStudio.getState().tuning).toMatchObject({ strategy: 'draft', gamma: 5 }));

    useStudio.setState({ jobId: 'j', status: 'starting' });
    let updates = 0;
    const unsubscribe = useStudio.subscribe(() => updates++);
    for (let i = 0; i < 2000; i++) {
      emit({
        type: 'job',
        jobId: 'j',
        t: i,
        event: {
          type: 'step',
          sentence: 0,
          step: i,
          drafted: [1, 2, 3],
          accepted: i % 4,
          token: 7,
          bonus: i % 4 === 3,
          emitted: (i % 4) + 1,
          draftMs: 1,
          verifyMs: 2,
        },
      });
    }
    expect(updates).toBe(0);
    scheduler.run();
    expect(updates).toBe(1);
    expect(useStudio.getState().totals.steps).toBe(2000);
    expect(useStudio.getState().perSentence[0].stats.steps).toBe(2000);
    unsubscribe();
    stop();
  });
});
