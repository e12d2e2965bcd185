/**
 * The 24 built-in bench sentences (`spear bench`, calibration). Read through this URL, which the
 * Electron build copies next to its bundle (build/vite.electron.config.ts, DATA_FILES).
 */
export const BENCH_TEXTS_URL = new URL('./bench-texts.txt', import.meta.url);
