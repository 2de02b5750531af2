// Calls that survive blips: what the page keeps while the signaling socket is
// away, and how it comes back.
//
// Two mechanisms (docs/protocol.md, "Surviving blips and restarts"):
// - a short outage: socket.io-client reconnects with the pid and offset the
//   server gave it (connection-state recovery; the page asks for it with
//   `recover: true` in its auth), and `socket.recovered` says the server kept
//   our socket: nothing was lost, the missed events were replayed.
// - a server restart: the new process knows nothing; a call whose peer
//   connection still carries media is resumed with `resume-call {callId,
//   resume}` (the ticket from match-found), a search is simply sent again.

import type { Untrusted } from './protocol';

/** The signaling link as the page shows it. */
export type Link = 'connecting' | 'online' | 'reconnecting' | 'resuming' | 'offline';

/** What match-found gave us to resume the call after a server restart. */
export interface ResumeTicket {
  /** the page's id of the call (CallSession.id) */
  readonly callSeq: number;
  /** the server's callId and the opaque ticket */
  readonly callId: string;
  readonly resume: string;
}

/** The ticket of a match, if the server sent one (a server that predates resume does not). */
export function readResume(d: Untrusted<{ callId: string; resume: string }>, callSeq: number): ResumeTicket | null {
  const callId = d?.callId;
  const resume = d?.resume;
  if (typeof callId !== 'string' || !callId || typeof resume !== 'string' || !resume) return null;
  return { callSeq, callId, resume };
}

/**
 * Whether socket.io-client will try to reconnect after this disconnect: not
 * after our own disconnect() or the server's, nor once it gave up (`active`).
 */
export function willReconnect(reason: string, socket: { readonly active?: boolean }): boolean {
  if (reason === 'io server disconnect' || reason === 'io client disconnect') return false;
  return socket.active !== false;
}

/**
 * Whether a call can be resumed: its media still flows (or ICE is trying to
 * restore it). A text call has no peer connection: the chat is the call.
 */
export function mediaStillUp(call: { readonly session: unknown; readonly connectionState: RTCPeerConnectionState }): boolean {
  return call.session === null || call.connectionState === 'connected' || call.connectionState === 'disconnected';
}

/**
 * How long the page waits for call-resumed after sending resume-call: the
 * server's window (30 s by default, --recovery-window) plus a margin for the
 * other side's reconnect backoff; past it the server has given up too.
 */
export const RESUME_TIMEOUT_MS = 40_000;

/**
 * The page's side of a clean goodbye and of the test hooks:
 * - on `pagehide` the socket says goodbye (a Socket.IO DISCONNECT), so the
 *   server ends the call at once instead of holding it for a reconnection
 *   that will not come (a page restored from the back/forward cache connects
 *   again);
 * - the first gesture primes the notifier's audio (browsers allow sound only
 *   after one);
 * - `window.__rc.dropSocket()` closes the transport without a goodbye, as a
 *   network blip does (tests/e2e/test_resilience.py).
 * Returns the function that undoes all of it.
 */
export function attachPage(
  win: Window,
  socket: { disconnect(): unknown; connect?(): unknown; readonly id?: string; readonly recovered?: boolean; io?: { engine?: { close(): unknown } } },
  prime: () => void,
): () => void {
  const goodbye = () => socket.disconnect();
  // back from the back/forward cache: the goodbye was said, connect again
  const back = (e: Event) => void ((e as PageTransitionEvent).persisted && socket.connect?.());
  win.addEventListener('pagehide', goodbye);
  win.addEventListener('pageshow', back);
  win.addEventListener('pointerdown', prime, { once: true, capture: true });
  win.addEventListener('keydown', prime, { once: true, capture: true });
  const debug = (win as unknown as { __rc?: Record<string, unknown> }).__rc;
  if (debug) {
    debug.dropSocket = () => socket.io?.engine?.close();
    debug.socketId = () => socket.id ?? null;
    debug.socketRecovered = () => socket.recovered === true;
  }
  return () => {
    win.removeEventListener('pagehide', goodbye);
    win.removeEventListener('pageshow', back);
    win.removeEventListener('pointerdown', prime, { capture: true });
    win.removeEventListener('keydown', prime, { capture: true });
    if (debug) {
      delete debug.dropSocket;
      delete debug.socketId;
      delete debug.socketRecovered;
    }
  };
}

/** Test only: `window.__rcTest = {dropIce: true}` before the page loads makes every call's ICE fail. */
export function testDropIce(win: Window): boolean {
  return (win as unknown as { __rcTest?: { dropIce?: unknown } }).__rcTest?.dropIce === true;
}
