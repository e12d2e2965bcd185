/** Messages between the service's worker thread (host.ts) and its owner (client.ts). */
import type { InvokeMethod, StudioEvent } from '../ipc-contract.ts';

export interface HostWorkerData {
  /** URL of a module exporting `createBackend` (real-backend.ts, or a test's fake). */
  backendModule: string;
  voiceDir?: string;
  /** Where settings persist; absent: in memory only. */
  settingsFile?: string;
  /** The user's lexicon.json (electron/core/text/lexicon-file.ts); absent: an empty lexicon in memory. */
  lexiconFile?: string;
  /** Where calibrations are kept (electron/core/calibration/store.ts); absent: the service does not calibrate. */
  calibrationDir?: string;
}

/** Arguments are validated by the owner (schemas.ts) before they are posted here. */
export type HostRequest = { kind: 'call'; id: number; method: InvokeMethod; args: unknown[]; exportPath?: string } | { kind: 'dispose' };

export type HostResponse =
  | { kind: 'ready'; backend: string }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: string }
  | { kind: 'event'; event: StudioEvent }
  | { kind: 'disposed' };
