// Video chat or text chat, chosen before the search and remembered with the
// other choices (choices.ts). Users are paired only with users of the same mode
// (the server matches them so); `mode` goes with find-partner / next. Video mode searches
// only once the page holds a camera track: a user who watches unseen is what
// the issue forbids.

import type { CameraState } from './camera';
import type { Mode } from './protocol';
import { t } from '../i18n';

export type { Mode };

/** A live camera track in the stream (enabled or not: turning the camera off later is the user's right). */
export function hasCameraTrack(stream: MediaStream | null): boolean {
  return Boolean(stream?.getVideoTracks().some((t) => t.readyState === 'live'));
}

/** Why a video search cannot start now, for people; null when it can. */
export function videoBlocker(cam: Pick<CameraState, 'stream' | 'busy' | 'error'>): string | null {
  if (hasCameraTrack(cam.stream)) return null;
  if (cam.busy) return t('camera.waiting');
  const why = cam.error ? ` ${cam.error}` : '';
  return `${t('camera.required')}${why} ${t('camera.useText')}`;
}
