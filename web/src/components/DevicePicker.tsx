import { useCallback, useEffect, useState } from 'react';
import type { CallController } from '../lib/callController';
import type { CameraState, LocalCamera } from '../lib/camera';
import './options.css';
import { listCameras, openVideo, otherSide, videoConstraints, type CameraChoice, type Facing } from '../lib/devices';
import { useT } from '../i18n';

/**
 * The camera picker (every camera the browser lists) and, where there are
 * several, a front/back switch for phones. The new camera replaces the
 * preview's track and, in a call, the track the partner receives.
 */
export function DevicePicker({ camera, cam, controller }: { camera: LocalCamera; cam: CameraState; controller: CallController | null }) {
  const t = useT();
  const [cameras, setCameras] = useState<CameraChoice[]>([]);
  const [current, setCurrent] = useState<string>('');
  const [facing, setFacing] = useState<Facing>('user');
  const [error, setError] = useState<string | null>(null);
  const stream = cam.stream;

  // Cameras are named only once the page may use one: list them when a stream exists.
  useEffect(() => {
    if (!stream || !navigator.mediaDevices?.enumerateDevices) return;
    let live = true;
    const refresh = () =>
      void listCameras(navigator.mediaDevices).then(
        (list) => live && setCameras(list),
        () => live && setCameras([]),
      );
    refresh();
    setCurrent(stream.getVideoTracks()[0]?.getSettings?.().deviceId ?? '');
    navigator.mediaDevices.addEventListener?.('devicechange', refresh);
    return () => {
      live = false;
      navigator.mediaDevices.removeEventListener?.('devicechange', refresh);
    };
  }, [stream]);

  const use = useCallback(
    async (constraints: MediaTrackConstraints) => {
      setError(null);
      try {
        const track = await openVideo(navigator.mediaDevices, constraints);
        if (!camera.replaceVideoTrack(track)) return;
        await controller?.replaceTrack(track);
        setCurrent(track.getSettings?.().deviceId ?? '');
      } catch (err) {
        setError(t('devices.failed', { error: String((err as Error)?.message ?? err) }));
      }
    },
    [camera, controller, t],
  );

  if (!stream || cameras.length === 0) return null;
  return (
    <div className="device-picker">
      <label>
        <span>{t('devices.camera')}</span>
        <select data-testid="camera-select" value={current} onChange={(e) => void use(videoConstraints({ deviceId: e.target.value }))}>
          {cameras.map((c) => (
            <option key={c.deviceId} value={c.deviceId}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      {cameras.length > 1 ? (
        <button
          type="button"
          className="btn small"
          data-testid="camera-switch"
          onClick={() => {
            const next = otherSide(facing);
            setFacing(next);
            void use(videoConstraints({ facing: next }));
          }}
        >
          {t('devices.switch')}
        </button>
      ) : null}
      {error ? (
        <p className="device-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
