/**
 * Starting one of the project's own modules in a worker thread, from TypeScript sources (tsx) or from
 * the build (dist/electron, where each worker entry is a file of its own: build/vite.electron.config.ts).
 */
import { Worker } from 'node:worker_threads';

/** The URL of module `name` beside the module at `base` (its import.meta.url), with that module's extension (.ts under tsx, .js when built). */
export function siblingUrl(name: string, base: string): string {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, base).href;
}

/**
 * NOTE: on Node 20 a worker does not inherit `--import tsx`'s hooks for its entry file, so a .ts entry
 * starts from a tiny bootstrap that registers tsx first. Built (.js) code starts the entry directly.
 */
export function startWorker(entry: string, workerData: unknown): Worker {
  if (!entry.endsWith('.ts')) return new Worker(new URL(entry), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}
