import { useCallback, useEffect, useState } from 'react';
import type { CallController } from '../lib/callController';
import type { CameraState, LocalCamera } from '../lib/camera';
import { afterFlip, currentDevice, listInputs, openAudio, openVideo, otherSide, videoConstraints, type CameraChoice, type Facing } from '../lib/devices';
import { useT } from '../i18n';

const NO_DEVICES = { cameras: [], microphones: [] };

export interface Devices {
  cameras: CameraChoice[];
  microphones: CameraChoice[];
  camera: string;
  microphone: string;
  error: string | null;
  useCamera(deviceId: string): void;
  useMicrophone(deviceId: string): void;
  /** front / back (facingMode), for phones with several cameras */
  flip(): void;
}

/**
 * The cameras and microphones the browser lists, which one the stream uses, and
 * switching: the new track replaces the preview's and, in a call, the one the
 * partner receives (RTCRtpSender.replaceTrack, the call goes on). One per room,
 * so the floating flip button and the pickers in the sheet agree.
 */
export function useDevices(camera: LocalCamera, cam: CameraState, controller: CallController | null): Devices {
  const t = useT();
  const [lists, setLists] = useState<{ cameras: CameraChoice[]; microphones: CameraChoice[] }>({ cameras: [], microphones: [] });
  const [facing, setFacing] = useState<Facing>('user');
  const [error, setError] = useState<string | null>(null);
  const stream = cam.stream;

  // Devices are named only once the page may use them: list them when a stream exists.
  useEffect(() => {
    const media = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
    if (!stream || !media?.enumerateDevices) return;
    let live = true;
    const refresh = () =>
      void listInputs(media).then(
        (found) => live && setLists(found),
        () => live && setLists({ cameras: [], microphones: [] }),
      );
    refresh();
    media.addEventListener?.('devicechange', refresh);
    return () => {
      live = false;
      media.removeEventListener?.('devicechange', refresh);
    };
  }, [stream]);

  const put = useCallback(
    async (open: () => Promise<MediaStreamTrack>, failed: 'devices.failed' | 'devices.failedMic') => {
      setError(null);
      try {
        const track = await open();
        if (!camera.replaceTrack(track)) return;
        await controller?.replaceTrack(track);
      } catch (err) {
        setError(t(failed, { error: String((err as Error)?.message ?? err) }));
      }
    },
    [camera, controller, t],
  );

  return {
    // without a stream (Stop, text mode) there is nothing to switch
    ...(stream ? lists : NO_DEVICES),
    camera: currentDevice(stream, 'video'),
    microphone: currentDevice(stream, 'audio'),
    error,
    useCamera: (deviceId) => void put(() => openVideo(navigator.mediaDevices, videoConstraints({ deviceId })), 'devices.failed'),
    useMicrophone: (deviceId) => void put(() => openAudio(navigator.mediaDevices, deviceId), 'devices.failedMic'),
    flip: () => {
      const next = otherSide(facing);
      setFacing(next);
      const media = navigator.mediaDevices;
      const using = currentDevice(stream, 'video');
      void put(async () => {
        const track = await openVideo(media, videoConstraints({ facing: next }));
        const other = afterFlip(lists.cameras, using, track.getSettings?.().deviceId ?? '');
        if (!other) return track;
        track.stop(); // the same camera again: take the next one instead
        return openVideo(media, videoConstraints({ deviceId: other }));
      }, 'devices.failed');
    },
  };
}
