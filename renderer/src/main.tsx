import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { reportError } from './actions.ts';
import { startBridge } from './bridge.ts';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import './styles.css';

// A file dropped anywhere but the drop zone must never navigate the window away.
for (const type of ['dragover', 'drop'] as const) {
  window.addEventListener(type, (event) => {
    if (!(event.target instanceof Element && event.target.closest('[data-testid="drop-zone"]'))) event.preventDefault();
  });
}
window.addEventListener('error', (event) => reportError(`Unexpected error: ${event.message}`));
window.addEventListener('unhandledrejection', (event) =>
  reportError(`Unexpected error: ${event.reason instanceof Error ? event.reason.message : String(event.reason)}`),
);

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');
try {
  startBridge();
} catch (error) {
  reportError(`Cannot reach the synthesis service: ${(error as Error).message}`);
}
createRoot(root).render(
  <StrictMode>
    <ErrorBoundary area="Spear Studio">
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
