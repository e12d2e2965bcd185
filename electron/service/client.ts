/**
 * The owner's side of the service worker: starts host.ts in a worker thread, validates nothing
 * itself (its callers do, with schemas.ts), forwards calls and fans out events. Used by the Electron
 * main process and the browser-mode server alike.
 */
import type { Worker } from 'node:worker_threads';
import { siblingUrl as besideCore, startWorker } from '../core/worker.ts';
import type { InvokeArgs, InvokeMethod, InvokeResult, StudioEvent } from '../ipc-contract.ts';
import type { HostRequest, HostResponse, HostWorkerData } from './protocol.ts';

/** A module beside this one (host.ts, real-backend.ts). */
const siblingUrl = (name: string): string => besideCore(name, import.meta.url);

export interface ServiceClientOptions extends Partial<HostWorkerData> {
  /** Default: real-backend.ts next to this file. */
  backendModule?: string;
}

/** The verbs that write a file: the host chooses the path (a save dialog, the server's temp folder). */
export type ExportMethod = 'exportAudio' | 'exportCompare';

type Pending = { resolve(value: unknown): void; reject(error: Error): void };

export class ServiceClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: StudioEvent) => void>();
  private nextId = 1;
  private exited = false;
  /** Resolves with the backend's name once the worker has loaded it. */
  readonly ready: Promise<string>;

  constructor(options: ServiceClientOptions = {}) {
    const data: HostWorkerData = {
      backendModule: options.backendModule ?? siblingUrl('real-backend'),
      voiceDir: options.voiceDir,
      settingsFile: options.settingsFile,
      lexiconFile: options.lexiconFile,
      calibrationDir: options.calibrationDir,
    };
    this.worker = startWorker(siblingUrl('host'), data);
    let markReady: (name: string) => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.worker.on('message', (message: HostResponse) => {
      if (message.kind === 'ready') markReady(message.backend);
      else if (message.kind === 'event') for (const listener of this.listeners) listener(message.event);
      else if (message.kind === 'result') {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!pending) return;
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new Error(message.error));
      }
    });
    const fail = (error: Error): void => {
      this.exited = true;
      failReady(error);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', (error) => fail(new Error(`the synthesis service failed: ${error.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`the synthesis service stopped (exit code ${code})`)));
  }

  /** Every verb but the exports, whose host-side forms take the path (exportTo, exportCompareTo). */
  call<M extends Exclude<InvokeMethod, ExportMethod>>(method: M, args: InvokeArgs<M>): Promise<InvokeResult<M>> {
    return this.post(method, args) as Promise<InvokeResult<M>>;
  }

  /** Writes a job's audio to `file`, which the host chose (a save dialog, the server's temp folder). */
  exportTo(args: InvokeArgs<'exportAudio'>, file: string): Promise<{ bytes: number }> {
    return this.post('exportAudio', args, file) as Promise<{ bytes: number }>;
  }

  /** Writes a comparison's results to `file`, which the host chose. */
  exportCompareTo(args: InvokeArgs<'exportCompare'>, file: string): Promise<{ bytes: number }> {
    return this.post('exportCompare', args, file) as Promise<{ bytes: number }>;
  }

  private post(method: InvokeMethod, args: unknown[], exportPath?: string): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error('the synthesis service has stopped; restart the app'));
    const id = this.nextId++;
    const request: HostRequest = { kind: 'call', id, method, args, ...(exportPath ? { exportPath } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  onEvent(listener: (event: StudioEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Cancels the jobs, releases the voice's sessions, then stops the worker. */
  async dispose(timeoutMs = 5000): Promise<void> {
    if (this.exited) return;
    const disposed = new Promise<void>((resolve) => {
      this.worker.on('message', (m: HostResponse) => m.kind === 'disposed' && resolve());
    });
    this.worker.postMessage({ kind: 'dispose' } satisfies HostRequest);
    await Promise.race([disposed, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    await this.worker.terminate();
  }
}
