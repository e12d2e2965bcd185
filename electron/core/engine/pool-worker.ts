/**
 * Worker-thread entry of a DecoderPool (pool.ts): opens the model once, then decodes the jobs it is
 * sent, one at a time, posting their DecodeEvents in batches (EVENT_FLUSH_MS) and the rows at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decode } from './decode.ts';
import { loadModel, type LoadedModel } from './model.ts';
import { EVENT_FLUSH_MS, type PoolRequest, type PoolResponse, type PoolWorkerData } from './pool.ts';
import type { DecodeEvent } from './stats.ts';

const port = parentPort;
if (!port) throw new Error('electron/core/engine/pool-worker.ts runs as a worker thread (see pool.ts)');
const data = workerData as PoolWorkerData;
const send = (message: PoolResponse): void => port.postMessage(message);

let model: LoadedModel | null = null;
try {
  model = await loadModel(data.dir, data.load);
  send({ kind: 'ready' });
} catch (error) {
  send({ kind: 'failed', message: (error as Error).message });
}

const controllers = new Map<number, AbortController>();
port.on('message', async (request: PoolRequest) => {
  if (request.kind === 'cancel') {
    controllers.get(request.job)?.abort();
    return;
  }
  if (request.kind === 'stop') {
    // Between two ONNX Runtime calls (this handler runs only then): ending the thread here is safe.
    for (const controller of controllers.values()) controller.abort();
    process.exit(0);
  }
  if (request.kind === 'release') {
    await model?.release();
    model = null;
    send({ kind: 'released' });
    return;
  }
  const { job, prompts, options } = request;
  const controller = new AbortController();
  controllers.set(job, controller);
  // Events leave in batches: the first of a batch starts its clock, a decode step past EVENT_FLUSH_MS sends it.
  let pending: DecodeEvent[] = [];
  let since = 0;
  const flush = (): void => {
    if (pending.length > 0) send({ kind: 'events', job, events: pending });
    pending = [];
  };
  const onEvent = (event: DecodeEvent): void => {
    if (pending.length === 0) since = performance.now();
    pending.push(event);
    if (performance.now() - since >= EVENT_FLUSH_MS) flush();
  };
  try {
    if (!model) throw new Error('the model is not open');
    const result = await decode(model, prompts, { ...options, signal: controller.signal, onEvent });
    flush();
    send({ kind: 'done', job, rows: result.rows });
  } catch (error) {
    flush();
    send({ kind: 'error', job, name: (error as Error).name, message: (error as Error).message });
  } finally {
    controllers.delete(job);
  }
});
