/**
 * Starting one of the project's own modules in a worker thread, from TypeScript sources (tsx) or from
 * the build (dist/electron, where each worker entry is a file of its own: build/vite.electron.config.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The URL of module `name` beside the module at `base` (its import.meta.url), with that module's extension (.ts under tsx, .js when built). */
export function siblingUrl(name: string, base: string): string {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, base).href;
}

export interface StartOptions {
  /**
   * A .ts entry runs as one bundled ES module (bundledEntry) instead of through tsx's hooks, when the
   * bundle can be made. Only for an entry whose modules use import.meta.url to resolve packages or
   * sibling modules of the entry's folder: in the bundle every module sees the entry's URL.
   */
  bundle?: boolean;
}

/**
 * NOTE: on Node 20 a worker does not inherit `--import tsx`'s hooks for its entry file, so a .ts entry
 * starts from a tiny bootstrap that registers tsx first (or, with `bundle`, from one bundled file).
 * Built (.js) code starts the entry directly.
 */
export function startWorker(entry: string, workerData: unknown, options: StartOptions = {}): Worker {
  if (!entry.endsWith('.ts')) return new Worker(new URL(entry), { workerData });
  const bundle = options.bundle ? bundledEntry(entry) : null;
  // No execArgv: a parent started with `--import tsx` would load tsx into the bundled worker too.
  if (bundle) return new Worker(new URL(bundle), { workerData, execArgv: [] });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}

/** Bundles of an entry unused this long are deleted when a new one is written (edited sources make new ones). */
export const BUNDLE_KEEP_MS = 24 * 3600 * 1000;

/** Deletes `name`'s other bundles in `dir` older than BUNDLE_KEEP_MS (a process started before may still use a newer one). */
function pruneBundles(dir: string, name: string, keep: string): void {
  const now = Date.now();
  for (const other of readdirSync(dir)) {
    const file = path.join(dir, other);
    if (file === keep || !other.startsWith(`${name}-`) || !other.endsWith('.mjs')) continue;
    try {
      if (now - statSync(file).mtimeMs > BUNDLE_KEEP_MS) unlinkSync(file);
    } catch {
      // Gone already (another process pruned it).
    }
  }
}

/** Each entry's bundle, made once per process (null: it could not be made). */
const bundles = new Map<string, string | null>();

/**
 * The .ts entry and the project modules it imports as one ES module file, bundled by esbuild (about
 * 30 ms, once per process), npm packages left as imports: the file's URL, or null when it cannot be made
 * (the worker then runs the sources through tsx). Why: through tsx's hooks each worker loads and
 * transforms every module itself: a decoder pool of 2 workers opening the shipped voice took 520-545 ms
 * and 0.95-0.97 s of CPU to be ready that way, 335-380 ms and 0.51-0.59 s bundled.
 * The file goes to node_modules/.cache/spear-workers/, named by its content's hash and written whole
 * before it appears (a rename): from there the bundle's package imports resolve in the project's
 * node_modules. Writing one deletes the entry's bundles older than a day. SPEAR_WORKER_BUNDLE=0 turns bundling off (workers then run the sources themselves).
 */
export function bundledEntry(entry: string): string | null {
  if (process.env.SPEAR_WORKER_BUNDLE === '0') return null;
  const made = bundles.get(entry);
  // A bundle pruned by another process since (a day old) is made again.
  if (made === null || (made !== undefined && existsSync(fileURLToPath(made)))) return made;
  let url: string | null = null;
  try {
    const require = createRequire(import.meta.url);
    const esbuild = require('esbuild') as typeof import('esbuild');
    const result = esbuild.buildSync({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      define: { 'import.meta.url': JSON.stringify(entry) },
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0].text;
    // node_modules/esbuild/lib/main.js → node_modules
    const nodeModules = path.resolve(path.dirname(require.resolve('esbuild')), '../..');
    const dir = path.join(nodeModules, '.cache', 'spear-workers');
    const name = path.basename(fileURLToPath(entry), '.ts');
    const file = path.join(dir, `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true });
      const part = `${file}.${process.pid}.part`;
      writeFileSync(part, code);
      renameSync(part, file);
      pruneBundles(dir, name, file);
    }
    url = pathToFileURL(file).href;
  } catch {
    url = null;
  }
  bundles.set(entry, url);
  return url;
}
