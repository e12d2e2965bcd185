/**
 * The one subscription to the service. Events are queued and written into the store once per
 * animation frame (applyEvents over the whole batch), so a decoder emitting thousands of steps per
 * second costs one store update and one render per frame.
 */
import type { StudioEvent } from '../../electron/ipc-contract.ts';
import { getApi } from './api.ts';
import { createFrameBatcher, type FrameScheduler } from './lib/frame-batcher.ts';
import { tuningOf } from './lib/calibration.ts';
import { applyEvents, notice } from './store/apply-events.ts';
import { useStudio } from './store/state.ts';

let started = false;

export function startBridge(scheduler?: FrameScheduler): () => void {
  if (started) return () => undefined;
  started = true;
  const api = getApi((connection) => {
    useStudio.setState((s) => ({
      connection,
      notices:
        connection === 'lost'
          ? [...s.notices, notice('error', 'The connection to the synthesis service was lost. Restart `npm run serve` and reload the page.')]
          : s.notices,
    }));
  });
  const batcher = createFrameBatcher<StudioEvent>((events) => useStudio.setState((s) => applyEvents(s, events)), scheduler);
  const unsubscribe = api.onDecodeEvent((event) => batcher.push(event));
  void loadInitial();
  return () => {
    unsubscribe();
    batcher.dispose();
    started = false;
  };
}

async function loadInitial(): Promise<void> {
  const api = getApi();
  try {
    const [settings, providers, calibration] = await Promise.all([api.getSettings(), api.listProviders(), api.getCalibration()]);
    // The calibrated choice where there is one and the settings use it, else the default strategy.
    const choice = settings.useCalibration && calibration.state === 'ready' ? calibration.choice : null;
    useStudio.setState((s) => ({
      settings,
      providers,
      calibration,
      connection: 'ready',
      tuning: choice
        ? { ...s.tuning, gamma: settings.defaultGamma, ...tuningOf(calibration) }
        : { ...s.tuning, strategy: settings.defaultStrategy, gamma: settings.defaultGamma, adaptive: false },
    }));
  } catch (error) {
    useStudio.setState((s) => ({ notices: [...s.notices, notice('error', `Could not load the settings: ${(error as Error).message}`)] }));
  }
}
