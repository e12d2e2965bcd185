/**
 * Vite builds the renderer into dist/renderer (loaded by Electron from file:// and served by browser
 * mode); Vitest runs tests/renderer/*.spec.ts(x) with the same transform.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

export default defineConfig({
  root: here,
  // Relative asset URLs: the same build loads from file:// (Electron) and http:// (browser mode).
  base: './',
  plugins: [react()],
  build: {
    outDir: path.join(root, 'dist/renderer'),
    emptyOutDir: true,
    // No inline scripts or data: URLs for assets: the CSP allows 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    root,
    include: ['tests/renderer/**/*.spec.{ts,tsx}'],
    environment: 'node',
  },
});
