import { useEffect, useState, useSyncExternalStore } from 'react';
import { LocalCamera, type CameraState } from '../lib/camera';
import { openCamera } from '../lib/media';

/**
 * The room's camera: asked for as soon as the room opens (the preview shows
 * before Start), released when it closes. `enabled` false (text mode): not
 * asked for, and released.
 */
export function useCamera(enabled = true): { camera: LocalCamera; camState: CameraState } {
  const [camera] = useState(() => new LocalCamera(() => openCamera({ isSecureContext: window.isSecureContext, mediaDevices: navigator.mediaDevices })));
  const camState = useSyncExternalStore(camera.subscribe, camera.getState);
  useEffect(() => {
    if (!enabled) return;
    void camera.acquire();
    return () => camera.release();
  }, [camera, enabled]);
  return { camera, camState };
}
