import { useStudio } from '../store/state.ts';
import { dismissNotice } from '../actions.ts';

export function Notices() {
  const notices = useStudio((s) => s.notices);
  const providerNotice = useStudio((s) => s.providerNotice);
  return (
    <div className="notices" aria-live="polite">
      {providerNotice && (
        <div className="notice notice-warning" role="status" data-testid="provider-notice">
          {providerNotice}
        </div>
      )}
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" className="link" onClick={() => dismissNotice(n.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
