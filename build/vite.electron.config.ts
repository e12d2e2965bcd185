/**
 * Builds the Electron side into dist/electron: main.js, the service worker's host.js, the
 * real-backend.js it loads and the decoder pool's pool-worker.js (ES modules; Node built-ins and npm packages stay external, so
 * onnxruntime-node's native binding loads from node_modules / app.asar.unpacked), and preload.cjs
 * (CommonJS: a sandboxed preload cannot be an ES module).
 *
 *   vite build --config build/vite.electron.config.ts
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist/electron');
const pkg = (await import(path.join(root, 'package.json'), { with: { type: 'json' } })).default as { dependencies: Record<string, string> };
const external = ['electron', ...builtinModules, ...builtinModules.map((m) => `node:${m}`), ...Object.keys(pkg.dependencies)].map(
  (name) => new RegExp(`^${name.replace(/[/\\^$.*+?()[\]{}|]/g, '\\$&')}(/.*)?$`),
);

/** Data files the sources read next to themselves (new URL('./file', import.meta.url)). */
const DATA_FILES = ['electron/core/text/letter-to-sound-model.json', 'electron/core/eval/bench-texts.txt'];
const copyData = (): Plugin => ({
  name: 'spear-copy-data',
  writeBundle() {
    mkdirSync(outDir, { recursive: true });
    for (const file of DATA_FILES) copyFileSync(path.join(root, file), path.join(outDir, path.basename(file)));
  },
});

/** The sandboxed preload, as one CommonJS file. */
const preload = (): Plugin => ({
  name: 'spear-preload',
  async closeBundle() {
    await build({
      configFile: false,
      logLevel: 'warn',
      build: {
        outDir,
        emptyOutDir: false,
        ssr: path.join(root, 'electron/app/preload.ts'),
        target: 'node20',
        minify: false,
        rollupOptions: { external: ['electron'], output: { format: 'cjs', entryFileNames: 'preload.cjs' } },
      },
    });
  },
});

export default defineConfig({
  configFile: false,
  build: {
    outDir,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    ssr: true,
    rollupOptions: {
      input: {
        main: path.join(root, 'electron/app/main.ts'),
        host: path.join(root, 'electron/service/host.ts'),
        'real-backend': path.join(root, 'electron/service/real-backend.ts'),
        // Started by engine/pool.ts as a worker beside the chunk that holds it (electron/core/worker.ts siblingUrl).
        'pool-worker': path.join(root, 'electron/core/engine/pool-worker.ts'),
      },
      external,
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
    },
  },
  plugins: [copyData(), preload()],
});
