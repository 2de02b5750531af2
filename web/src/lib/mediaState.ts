// The partner's camera and microphone as the page shows them: what the partner
// says it sends (`media-state {video, audio}`, relayed by the server), and what
// actually arrives (the remote video track muted, or no new frame for a
// while). A partner who turned the camera off is shown as "Camera off", a
// picture that stopped as "Video paused": never a frozen frame that looks live.

import type { MediaState } from './protocol';
import { t } from '../i18n';

export type { MediaState };

/** No new frame for this long while the track claims to be live: paused. */
export const STALL_MS = 2500;

/** media-state checked, or null when it is not one (ignored, like other malformed news). */
export function parseMediaState(d: unknown): MediaState | null {
  const m = d as { video?: unknown; audio?: unknown } | null;
  if (!m || typeof m !== 'object' || typeof m.video !== 'boolean' || typeof m.audio !== 'boolean') return null;
  return { video: m.video, audio: m.audio };
}

export interface ArrivingVideo {
  /** the remote video track fired `mute` (no media arrives) and not `unmute` since */
  trackMuted: boolean;
  /** no new frame for STALL_MS while playing */
  stalled: boolean;
  /** nothing has arrived on this call's track yet: the call is still connecting, not paused */
  notYet?: boolean;
}

/** What to lay over the partner's video, or null when it plays. */
export function partnerVideoStatus(declared: MediaState | null, arriving: ArrivingVideo): 'Camera off' | 'Connecting' | 'Video paused' | null {
  if (declared && !declared.video) return 'Camera off';
  if (arriving.notYet) return 'Connecting';
  if (arriving.trackMuted || arriving.stalled) return 'Video paused';
  return null;
}

/** The sentence for screen readers (one aria-live region says it once per change). */
export function describePartnerMedia(name: string, declared: MediaState | null, video: ReturnType<typeof partnerVideoStatus>): string {
  const parts: string[] = [];
  if (video === 'Camera off') parts.push(t('remote.saysCameraOff', { name }));
  else if (video === 'Video paused') parts.push(t('remote.saysPaused', { name }));
  if (declared && !declared.audio) parts.push(t('remote.saysMuted', { name }));
  return parts.join(' ');
}

/** Frame clock: the time of the newest frame, and whether it is too old. */
export function isStalled(lastFrameAt: number | null, now: number, stallMs = STALL_MS): boolean {
  return lastFrameAt !== null && now - lastFrameAt > stallMs;
}
