import { useShallow } from 'zustand/react/shallow';
import { cancelCalibration, runCalibration } from '../actions.ts';
import { calibrationStatus } from '../lib/calibration.ts';
import { useStudio } from '../store/state.ts';

/** This machine's calibration: what it chose, or how far it is, and the button that runs it now. */
export function CalibrationPanel() {
  const { info } = useStudio(useShallow((s) => ({ info: s.calibration })));
  const running = info?.state === 'running';
  return (
    <div className="calibration span-2" data-testid="calibration">
      <span className="muted small">{calibrationStatus(info)}</span>
      <div className="actions">
        <button
          type="button"
          onClick={() => void runCalibration()}
          disabled={!info || running || info.state === 'unavailable'}
          title="Measure this machine and choose the fastest strategy, γ and threads"
        >
          Calibrate
        </button>
        {running && (
          <button type="button" onClick={() => void cancelCalibration()}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
