// Choosing the camera: the list of cameras (enumerateDevices, which names
// them only once the page may use the camera), the front/back switch on
// phones (facingMode), and the new track for the local preview and the live
// call (LocalCamera.replaceVideoTrack, then RTCRtpSender.replaceTrack: no
// renegotiation, the partner sees the other camera at once).

import { t } from '../i18n';

export interface CameraChoice {
  deviceId: string;
  label: string;
}

export type Facing = 'user' | 'environment';

/** The video inputs, labelled "Camera 1", "Camera 2"… when the browser hides their names. */
export async function listCameras(media: Pick<MediaDevices, 'enumerateDevices'>): Promise<CameraChoice[]> {
  const devices = await media.enumerateDevices();
  return devices
    .filter((d) => d.kind === 'videoinput' && d.deviceId)
    .map((d, i) => ({ deviceId: d.deviceId, label: d.label || t('devices.cameraN', { n: i + 1 }) }));
}

/** Constraints for one camera, by id, or by the side it faces. */
export function videoConstraints(choice: { deviceId: string } | { facing: Facing }): MediaTrackConstraints {
  const size = { width: { ideal: 1280 }, height: { ideal: 720 } };
  return 'deviceId' in choice ? { ...size, deviceId: { exact: choice.deviceId } } : { ...size, facingMode: { ideal: choice.facing } };
}

/** Open that camera; the new video track (the caller stops it if it is not used). */
export async function openVideo(media: Pick<MediaDevices, 'getUserMedia'>, constraints: MediaTrackConstraints): Promise<MediaStreamTrack> {
  const stream = await media.getUserMedia({ video: constraints, audio: false });
  const [track] = stream.getVideoTracks();
  if (!track) throw new Error(t('devices.noVideo'));
  return track;
}

export function otherSide(facing: Facing): Facing {
  return facing === 'user' ? 'environment' : 'user';
}
