import { useEffect } from 'react';
import { useStudio } from '../store/state.ts';
import { dismissNotice } from '../actions.ts';

/** How long an informational toast stays; errors stay until dismissed. */
const INFO_MS = 4000;

/** The provider fallback notice (in the page: it stays true while the voice runs) and toasts. */
export function Notices() {
  const notices = useStudio((s) => s.notices);
  const providerNotice = useStudio((s) => s.providerNotice);
  useEffect(() => {
    const timers = notices.filter((n) => n.kind === 'info').map((n) => setTimeout(() => dismissNotice(n.id), INFO_MS));
    return () => timers.forEach(clearTimeout);
  }, [notices]);
  return (
    <>
      {providerNotice && (
        <div className="notice notice-warning provider-notice" role="status" data-testid="provider-notice">
          {providerNotice}
        </div>
      )}
      <div className="toasts" aria-live="polite">
        {notices.map((n) => (
          <div key={n.id} className={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.kind}`}>
            <span>{n.text}</span>
            <button type="button" className="link" onClick={() => dismissNotice(n.id)} aria-label="Dismiss">
              ×
            </button>
          </div>
        ))}
      </div>
    </>
  );
}
