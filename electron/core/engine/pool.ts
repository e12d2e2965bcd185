/**
 * The rows of one decode spread over worker threads, each holding its own sessions of the same model:
 * a document's sentences decode on every core at once.
 *
 * Why: onnxruntime-node runs a session on the JavaScript thread that calls it (its `run` is synchronous
 * under the promise), so one process decodes on one core however its rows are batched, and the int8
 * target verifies one row per call (rows_per_call), so a batch of its rows costs the sum of the rows.
 * Each worker decodes whole rows with `decode`: a row decodes the same on any worker as alone, so the
 * result equals decode()'s row for row (greedy and, with per-row seeds, sampled; tests/core/engine/pool.test.ts).
 *
 * Scheduling: a target that takes one row per call gets one row per job, handed to whichever worker is
 * free, in the rows' order (the first sentence starts at once, and a long sentence does not hold back the
 * rest); a batching target gets one contiguous share of the rows per worker, decoded as one batch there.
 * Events come back in the order the worker's decode emits them, a few milliseconds' worth per message
 * (EVENT_FLUSH_MS: one message per event kept the caller's thread busy 10-15 % of a core, taken from
 * the workers on a 2-core machine), with the rows renumbered to the caller's.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { DecodeAbortedError, SpearError } from '../errors.ts';
import { siblingUrl, startWorker } from '../worker.ts';
import { checkOptions, decode, draftLength, STRATEGY_GRAPHS, type DecodeOptions, type DecodeResult, type RowResult } from './decode.ts';
import type { GraphRole } from './tensor-names.ts';
import type { LoadedModel, LoadOptions } from './model.ts';
import { StatsAggregator, type DecodeEvent } from './stats.ts';

/** The options a job carries to its worker: decode's, less what cannot cross a thread (callbacks, the signal). */
export type JobOptions = Omit<DecodeOptions, 'onEvent' | 'signal' | 'onGraphCall'>;

export interface PoolWorkerData {
  dir: string;
  load: LoadOptions;
}

export type PoolRequest =
  | { kind: 'decode'; job: number; prompts: number[][]; options: JobOptions }
  | { kind: 'cancel'; job: number }
  | { kind: 'release' }
  | { kind: 'stop' };

export type PoolResponse =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'events'; job: number; events: DecodeEvent[] }
  | { kind: 'done'; job: number; rows: RowResult[] }
  | { kind: 'error'; job: number; name: string; message: string }
  | { kind: 'released' };

/** A worker sends its job's events at most this long after the first of them is emitted, and all before the job's result. */
export const EVENT_FLUSH_MS = 10;

/** A worker's decode failed (not cancelled): its message, prefixed. */
export class DecodeWorkerError extends SpearError {}

/** Workers `auto` stands for: one per core the process may use, at most 4. */
export function autoWorkers(): number {
  return Math.min(4, os.availableParallelism());
}

interface Job {
  id: number;
  /** The caller's row of each of the job's rows. */
  rows: number[];
  resolve(rows: RowResult[]): void;
  reject(error: Error): void;
  onEvent(event: DecodeEvent): void;
}

class PoolWorker {
  readonly ready: Promise<void>;
  job: Job | null = null;

  constructor(
    readonly worker: Worker,
    onExit: (worker: PoolWorker, error: Error) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (message: PoolResponse) => {
        if (message.kind === 'ready') resolve();
        else if (message.kind === 'failed') reject(new DecodeWorkerError(`a decode worker could not open the model: ${message.message}`));
        else if (message.kind === 'events') for (const event of message.events) this.job?.onEvent(event);
        else if (message.kind === 'done' || message.kind === 'error') {
          const job = this.job;
          this.job = null;
          if (!job || job.id !== message.job) return;
          if (message.kind === 'done') job.resolve(message.rows);
          else
            job.reject(message.name === 'DecodeAbortedError' ? new DecodeAbortedError() : new DecodeWorkerError(`a decode worker failed: ${message.message}`));
        }
      });
      const fail = (error: Error): void => {
        reject(error);
        onExit(this, error);
      };
      worker.on('error', (error) => fail(new DecodeWorkerError(`a decode worker failed: ${error.message}`)));
      worker.on('exit', (code) => fail(new DecodeWorkerError(`a decode worker stopped (exit code ${code})`)));
    });
    // A pool that never gets ready is reported through `problem`, not as an unhandled rejection.
    this.ready.catch(() => undefined);
  }
}

/** Resolves when `turn` settles; rejects with DecodeAbortedError if `signal` aborts first. */
function untilAborted(turn: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return turn;
  if (signal.aborted) return Promise.reject(new DecodeAbortedError());
  return new Promise((resolve, reject) => {
    const abort = (): void => reject(new DecodeAbortedError());
    signal.addEventListener('abort', abort, { once: true });
    turn.then(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    });
  });
}

/** Pools whose workers run, for stopWorkersNow. */
const running = new Set<DecoderPool>();

/**
 * Stops every pool's workers as soon as each is between two ONNX Runtime calls, without releasing their
 * sessions: for a process about to exit on the spot (a second stop signal, electron/cli/main.ts).
 * NOTE: ending a worker while it is inside an ONNX Runtime call (process.exit(), Worker.terminate())
 * can abort the whole process: onnxruntime-node throws from the worker's torn-down environment. So each
 * worker is asked to stop and ends itself from its message handler, which runs between calls; after
 * `timeoutMs` the rest are left to the process's exit.
 */
export async function stopWorkersNow(timeoutMs = 2000): Promise<void> {
  await Promise.race([Promise.all([...running].map((pool) => pool.stop())), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}

export class DecoderPool {
  private readonly workers: PoolWorker[];
  private nextJob = 1;
  private released = false;
  /** The graphs the workers open (LoadOptions.roles); undefined: all of the model's. */
  readonly roles: readonly GraphRole[] | undefined;
  /** Settles when the calls to `decode` made so far have finished: the next one starts after it. */
  private turn: Promise<void> = Promise.resolve();
  /** Why the pool cannot decode (a worker failed to open the model, or stopped); null while it can. */
  problem: string | null = null;
  /** Resolves once every worker has opened the model; rejects with the first worker's failure. */
  readonly ready: Promise<void>;

  /**
   * Starts `size` workers, each opening the model at `dir` with `load` (its threads apply per worker:
   * one intra-op thread each is what spreads a document over the cores). Returns at once; the workers
   * open the model meanwhile (`decodeRows` waits for them: a second or two, while a document's first
   * sentence, decoded alone, usually takes longer).
   */
  constructor(
    readonly dir: string,
    readonly size: number,
    load: LoadOptions = {},
  ) {
    if (!(Number.isInteger(size) && size >= 2)) throw new RangeError(`a decoder pool has 2 or more workers, got ${size}`);
    this.roles = load.roles;
    const data: PoolWorkerData = {
      dir,
      load: { provider: load.provider, threads: load.threads ?? 1, targetThreads: load.targetThreads ?? 1, target: load.target, roles: load.roles },
    };
    const onExit = (worker: PoolWorker, error: Error): void => {
      if (this.released) return;
      this.problem ??= error.message;
      worker.job?.reject(error);
      worker.job = null;
    };
    this.workers = Array.from({ length: size }, () => new PoolWorker(startWorker(siblingUrl('pool-worker', import.meta.url), data, { bundle: true }), onExit));
    running.add(this);
    this.ready = Promise.all(this.workers.map((w) => w.ready)).then(() => undefined);
    this.ready.catch((error: Error) => {
      this.problem ??= error.message;
    });
  }

  /** Whether `decodeRows` hands these rows to the workers (once they are ready). */
  takes(prompts: readonly (readonly number[])[], options: DecodeOptions): boolean {
    // Sampling without per-row seeds draws row r from stream r of one seed: only one decode call does that.
    const seeded = (options.temperature ?? 0) === 0 || options.seeds !== undefined;
    const opened = this.roles === undefined || STRATEGY_GRAPHS[options.strategy ?? 'ar'].every((role) => this.roles!.includes(role));
    return this.problem === null && !this.released && prompts.length > 1 && seeded && !options.onGraphCall && opened;
  }

  /**
   * decode(model, prompts, options) on the workers: the same rows, the same events (rows renumbered),
   * a summary of all of them; `ms` is the wall time of its decoding. `model` is the caller's copy of
   * the workers' model: options are checked against it first, so a bad option throws the same error here.
   * Calls made while one decodes wait their turn, in order; a call's signal also ends its wait.
   */
  async decode(model: LoadedModel, prompts: readonly (readonly number[])[], options: DecodeOptions = {}): Promise<DecodeResult> {
    checkOptions(model, prompts, options);
    // One call at a time: a worker holds one job. A second call waits its turn (or for its signal).
    const previous = this.turn;
    let finished!: () => void;
    const mine = new Promise<void>((resolve) => {
      finished = resolve;
    });
    this.turn = previous.then(() => mine);
    try {
      await untilAborted(previous, options.signal);
      return await this.decodeNow(model, prompts, options);
    } finally {
      finished();
    }
  }

  private async decodeNow(model: LoadedModel, prompts: readonly (readonly number[])[], options: DecodeOptions): Promise<DecodeResult> {
    const started = performance.now();
    const { onEvent, signal, onGraphCall: _calls, ...shared } = options;
    if (signal?.aborted) throw new DecodeAbortedError();
    const stats = new StatsAggregator(draftLength(model, options));
    // Batch steps are numbered per worker decode: each (job, step) gets a number of its own.
    const steps = new Map<string, number>();
    const results: RowResult[] = new Array(prompts.length);
    const oneRowPerCall = model.graphs.full?.entry.rows_per_call === 1 || model.graphs.rest?.entry.rows_per_call === 1;
    const perJob = oneRowPerCall ? 1 : Math.ceil(prompts.length / this.size);
    const queue: number[][] = [];
    for (let first = 0; first < prompts.length; first += perJob)
      queue.push(Array.from({ length: Math.min(perJob, prompts.length - first) }, (_, i) => first + i));

    // This call's workers with a job in flight.
    const busy = new Set<PoolWorker>();
    const cancel = (): void => {
      for (const w of busy) if (w.job) w.worker.postMessage({ kind: 'cancel', job: w.job.id } satisfies PoolRequest);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    const pick = <T>(value: T | readonly T[] | undefined, rows: number[]): T | T[] | undefined =>
      Array.isArray(value) ? rows.map((r) => (value as readonly T[])[r]) : (value as T | undefined);
    const runJobs = async (w: PoolWorker): Promise<void> => {
      try {
        await runQueue(w);
      } catch (error) {
        // The first failure stops every worker's job and leaves the rest of the queue undone.
        queue.length = 0;
        cancel();
        throw error;
      }
    };
    const runQueue = async (w: PoolWorker): Promise<void> => {
      for (let rows = queue.shift(); rows; rows = queue.shift()) {
        if (signal?.aborted) throw new DecodeAbortedError();
        const id = this.nextJob++;
        const job = await new Promise<RowResult[]>((resolve, reject) => {
          w.job = {
            id,
            rows,
            resolve,
            reject,
            onEvent: (event) => {
              if (event.type === 'step') {
                const key = `${id}:${event.batchStep}`;
                if (!steps.has(key)) steps.set(key, steps.size);
                event = { ...event, row: rows[event.row], batchStep: steps.get(key)! };
              }
              stats.add(event);
              onEvent?.(event);
            },
          };
          busy.add(w);
          const jobOptions: JobOptions = {
            ...shared,
            ...(shared.seeds ? { seeds: pick(shared.seeds, rows) as number[] } : {}),
            ...(Array.isArray(shared.maxNewTokens) ? { maxNewTokens: pick(shared.maxNewTokens, rows) as number[] } : {}),
          };
          w.worker.postMessage({ kind: 'decode', job: id, prompts: rows.map((r) => [...prompts[r]]), options: jobOptions } satisfies PoolRequest);
        }).finally(() => busy.delete(w));
        job.forEach((row, i) => {
          results[rows[i]] = row;
        });
      }
    };
    try {
      const outcomes = await Promise.allSettled(this.workers.map(runJobs));
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    const ms = performance.now() - started;
    const summary = stats.summary();
    return { rows: results, summary, ms, tokensPerSecond: summary.tokens / (ms / 1000) };
  }

  /** Ends every worker between two of its ONNX Runtime calls, its job cancelled, its sessions unreleased (stopWorkersNow). */
  async stop(): Promise<void> {
    this.released = true;
    running.delete(this);
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.worker.once('exit', () => resolve());
            w.worker.postMessage({ kind: 'stop' } satisfies PoolRequest);
          }),
      ),
    );
  }

  /** Stops the workers after releasing their sessions. */
  async release(timeoutMs = 5000): Promise<void> {
    if (this.released) return;
    this.released = true;
    running.delete(this);
    await Promise.all(
      this.workers.map(async (w) => {
        const done = new Promise<void>((resolve) => w.worker.on('message', (m: PoolResponse) => m.kind === 'released' && resolve()));
        w.worker.postMessage({ kind: 'release' } satisfies PoolRequest);
        await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
        await w.worker.terminate();
      }),
    );
  }
}

/**
 * decode() of `model`, on `pool`'s workers when it takes these rows (DecoderPool.takes: several rows,
 * nothing that needs one call), else in this thread; a pool whose workers could not open the model
 * (DecoderPool.problem) leaves the rows to this thread too. The two give the same rows.
 */
export async function decodeRows(
  model: LoadedModel,
  pool: DecoderPool | null,
  prompts: readonly (readonly number[])[],
  options: DecodeOptions = {},
): Promise<DecodeResult> {
  if (pool?.takes(prompts, options)) {
    await pool.ready.catch(() => undefined);
    if (pool.takes(prompts, options)) return pool.decode(model, prompts, options);
  }
  return decode(model, prompts, options);
}
