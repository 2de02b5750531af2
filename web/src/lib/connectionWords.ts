// Plain words for the status bar: what people understand, not WebRTC state
// names. The WebRTC states stay on data-* attributes for tests and debugging.

import type { Link } from './recovery';
import { t } from '../i18n';

/** The signaling link, when it is not simply up. */
export function linkWords(link: Link): string | null {
  switch (link) {
    case 'connecting':
      return t('status.connectingServer');
    case 'reconnecting':
      return t('status.reconnecting');
    case 'resuming':
      return t('status.resuming');
    case 'offline':
      return t('status.offline');
    case 'online':
      return null;
  }
}

/** The peer connection of a call. */
export function peerWords(state: RTCPeerConnectionState, restarting = false): string {
  switch (state) {
    case 'new':
    case 'connecting':
      return t('peer.connecting');
    case 'connected':
      return t('peer.connected');
    case 'disconnected':
      return restarting ? t('peer.restoring') : t('peer.interrupted');
    case 'failed':
      return t('peer.failed');
    case 'closed':
      return t('peer.closed');
  }
}

/**
 * The searching pill. The server's queue place is not shown: it promises an order that
 * does not exist, since everyone ahead of a waiting user is someone they cannot be paired
 * with (else they would be), so "#2 in the queue" was said exactly when nobody could be
 * matched. (Kept in the state for tests and debugging: data-queue-position.)
 */
export function searchWords(): string {
  return t('status.searching');
}
