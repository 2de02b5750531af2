// Plain words for the status bar: what people understand, not WebRTC state
// names. The WebRTC states stay on data-* attributes for tests and debugging.

import type { Link } from './recovery';

/** The signaling link, when it is not simply up. */
export function linkWords(link: Link): string | null {
  switch (link) {
    case 'connecting':
      return 'Connecting to the server…';
    case 'reconnecting':
      return 'Reconnecting…';
    case 'resuming':
      return 'Reconnected, resuming the call…';
    case 'offline':
      return 'Offline';
    case 'online':
      return null;
  }
}

/** The peer connection of a call. */
export function peerWords(state: RTCPeerConnectionState, restarting = false): string {
  switch (state) {
    case 'new':
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return 'Connected';
    case 'disconnected':
      return restarting ? 'Connection interrupted, restoring…' : 'Connection interrupted…';
    case 'failed':
      return 'Could not connect';
    case 'closed':
      return 'Call ended';
  }
}

/** The searching pill. */
export function searchWords(queuePosition: number | null): string {
  return queuePosition ? `Looking for someone… (#${queuePosition})` : 'Looking for someone…';
}
