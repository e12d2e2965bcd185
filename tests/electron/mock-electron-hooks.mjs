// Module hook for tests/electron: `import … from 'electron'` resolves to the recording fake.
export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: new URL('./fake-electron.ts', import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
