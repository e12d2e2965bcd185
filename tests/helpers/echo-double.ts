// Imported by tests/helpers/echo-worker.ts: a module of the project's own that the worker's bundle holds.
export function double(n: number): number {
  return 2 * n;
}
