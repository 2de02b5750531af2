import type { Devices } from '../hooks/useDevices';
import type { CameraChoice } from '../lib/devices';
import './options.css';
import { useT } from '../i18n';

function Picker({ label, testId, value, choices, onPick }: { label: string; testId: string; value: string; choices: CameraChoice[]; onPick: (id: string) => void }) {
  return (
    <label>
      <span>{label}</span>
      <select data-testid={testId} value={value} onChange={(e) => onPick(e.target.value)}>
        {choices.map((c) => (
          <option key={c.deviceId} value={c.deviceId}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Front / back, shown only where there are several cameras. */
export function FlipButton({ devices, className = 'btn small' }: { devices: Devices; className?: string }) {
  const t = useT();
  if (devices.cameras.length < 2) return null;
  return (
    <button type="button" className={className} data-testid="camera-switch" onClick={devices.flip}>
      {t('devices.switch')}
    </button>
  );
}

/**
 * The camera and microphone pickers (every input the browser lists) and,
 * unless the room shows it elsewhere, the front/back switch.
 */
export function DevicePicker({ devices, flip = true }: { devices: Devices; flip?: boolean }) {
  const t = useT();
  if (devices.cameras.length === 0 && devices.microphones.length === 0) return null;
  return (
    <div className="device-picker">
      {devices.cameras.length ? <Picker label={t('devices.camera')} testId="camera-select" value={devices.camera} choices={devices.cameras} onPick={devices.useCamera} /> : null}
      {devices.microphones.length ? (
        <Picker label={t('devices.microphone')} testId="microphone-select" value={devices.microphone} choices={devices.microphones} onPick={devices.useMicrophone} />
      ) : null}
      {flip ? <FlipButton devices={devices} /> : null}
      {devices.error ? (
        <p className="device-error" role="alert">
          {devices.error}
        </p>
      ) : null}
    </div>
  );
}
