/** What the studio says about this machine's calibration, and what it means for the tuning. Pure. */
import type { CalibrationChoice, CalibrationInfo, Strategy } from '../../../electron/ipc-contract.ts';
import type { Tuning } from '../store/state.ts';
import { formatSpeedup } from './format.ts';

/** "eagle γ 4, 1+2 threads" (drafting + verifying threads), as `spear synth` prints it. */
export function describeChoice(choice: Pick<CalibrationChoice, 'strategy' | 'gamma' | 'threads' | 'targetThreads'>): string {
  if (choice.strategy === 'ar') return `ar, ${choice.targetThreads} thread${choice.targetThreads === 1 ? '' : 's'}`;
  return `${choice.strategy} γ ${choice.gamma}, ${choice.threads}+${choice.targetThreads} threads`;
}

/** One line for the settings panel. */
export function calibrationStatus(info: CalibrationInfo | null): string {
  if (!info) return 'Reading the calibration…';
  const note = info.message ? ` ${info.message}.` : '';
  switch (info.state) {
    case 'unavailable':
      return 'This voice cannot be calibrated here.';
    case 'none':
      return `Not calibrated for ${info.machine} yet: it runs by itself once the studio is idle (about 35 s), or now with Calibrate.${note}`;
    case 'running':
      return `Calibrating ${info.machine}… ${Math.round((info.progress ?? 0) * 100)}%${note}`;
    case 'failed':
      return `${info.message ?? 'Calibration failed.'}`;
    case 'ready': {
      const c = info.choice!;
      const a = info.adaptive;
      const adaptive =
        a?.chosen && a.strategy === c.strategy
          ? ` Adaptive γ (at most ${a.maxGamma}, confidence ${a.draftConfidence}) timed ${formatSpeedup(a.speedupOverFixed)} the fixed γ: on by default.`
          : '';
      return `Calibrated for ${info.machine}: ${describeChoice(c)}, predicted ${Math.round(c.tokensPerSecond).toLocaleString('en')} units/s (${formatSpeedup(c.speedup)} ar).${adaptive}`;
    }
  }
}

/** The tuning a ready calibration gives: its strategy and gamma, and adaptive gamma (capped) where it was timed faster. */
export function tuningOf(info: CalibrationInfo): Partial<Pick<Tuning, 'strategy' | 'gamma' | 'adaptive'>> {
  const choice = info.choice;
  if (!choice) return {};
  const a = info.adaptive;
  if (a?.chosen && a.strategy === choice.strategy) return { strategy: choice.strategy, gamma: a.maxGamma, adaptive: true };
  return { strategy: choice.strategy, adaptive: false, ...(choice.gamma > 0 ? { gamma: choice.gamma } : {}) };
}

/** The gamma the calibration gives a strategy, or undefined (not calibrated, ar, or not timed). */
export function calibratedGamma(info: CalibrationInfo | null, strategy: Strategy): number | undefined {
  return info?.state === 'ready' ? info.gammas[strategy] : undefined;
}
