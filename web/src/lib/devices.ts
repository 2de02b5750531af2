// Choosing the camera and the microphone: the lists (enumerateDevices, which
// names them only once the page may use them), the front/back switch on
// phones (facingMode), and the new track for the local preview and the live
// call (LocalCamera.replaceTrack, then RTCRtpSender.replaceTrack: no
// renegotiation, the partner sees the other camera or hears the other
// microphone at once).

import { t } from '../i18n';

export interface CameraChoice {
  deviceId: string;
  label: string;
}

export type Facing = 'user' | 'environment';

/** The video inputs, labelled "Camera 1", "Camera 2"… when the browser hides their names. */
export async function listCameras(media: Pick<MediaDevices, 'enumerateDevices'>): Promise<CameraChoice[]> {
  return choices(await media.enumerateDevices(), 'videoinput');
}

/** The audio inputs, labelled "Microphone 1"… when unnamed. */
export async function listMicrophones(media: Pick<MediaDevices, 'enumerateDevices'>): Promise<CameraChoice[]> {
  return choices(await media.enumerateDevices(), 'audioinput');
}

/** Every input the page may pick, both kinds from one enumerateDevices. */
export async function listInputs(media: Pick<MediaDevices, 'enumerateDevices'>): Promise<{ cameras: CameraChoice[]; microphones: CameraChoice[] }> {
  const devices = await media.enumerateDevices();
  return { cameras: choices(devices, 'videoinput'), microphones: choices(devices, 'audioinput') };
}

/**
 * The inputs of one kind, as the browser lists them (Chromium's "Default - …"
 * entry included: the track opened without a choice reports that id). Names
 * are cut to a sane length: a device name is whatever a driver says.
 */
function choices(devices: MediaDeviceInfo[], kind: MediaDeviceKind): CameraChoice[] {
  const unnamed = kind === 'videoinput' ? 'devices.cameraN' : 'devices.microphoneN';
  return devices
    .filter((d) => d.kind === kind && d.deviceId)
    .map((d, i) => ({ deviceId: d.deviceId, label: d.label.slice(0, MAX_LABEL) || t(unnamed, { n: i + 1 }) }));
}

const MAX_LABEL = 80;

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

/** Open that microphone; the new audio track (echo cancellation and the rest as the first one had). */
export async function openAudio(media: Pick<MediaDevices, 'getUserMedia'>, deviceId: string): Promise<MediaStreamTrack> {
  const stream = await media.getUserMedia({ audio: { deviceId: { exact: deviceId }, echoCancellation: true, noiseSuppression: true }, video: false });
  const [track] = stream.getAudioTracks();
  if (!track) throw new Error(t('devices.noAudio'));
  return track;
}

/** The id of the device a stream's track of that kind comes from ('' when unknown). */
export function currentDevice(stream: MediaStream | null, kind: 'audio' | 'video'): string {
  const track = kind === 'audio' ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
  return track?.getSettings?.().deviceId ?? '';
}

/**
 * After a flip opened `opened` while `current` was in use: the camera to use
 * instead when the browser ignored facingMode and gave the same camera back (a
 * desktop, or cameras that say nothing of their side): the next one in the list.
 * Null when the flip found another camera, or there is no other.
 */
export function afterFlip(cameras: CameraChoice[], current: string, opened: string): string | null {
  if (!opened || opened !== current || cameras.length < 2) return null;
  const at = cameras.findIndex((c) => c.deviceId === current);
  return cameras[(at + 1) % cameras.length].deviceId;
}

export function otherSide(facing: Facing): Facing {
  return facing === 'user' ? 'environment' : 'user';
}
