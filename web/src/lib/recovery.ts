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
import type { Timers } from './timers';

/** The signaling link as the page shows it. */
export type Link = 'connecting' | 'online' | 'reconnecting' | 'resuming' | 'offline';

/** What match-found gave us to resume the call after a server restart. */
export interface ResumeTicket {
  /** the server's callId and the opaque ticket */
  readonly callId: string;
  readonly resume: string;
}

/** The ticket of a match, if the server sent one (a server that predates resume does not). */
export function readResume(d: Untrusted<{ callId: string; resume: string }>): ResumeTicket | null {
  const callId = d?.callId;
  const resume = d?.resume;
  if (typeof callId !== 'string' || !callId || typeof resume !== 'string' || !resume) return null;
  return { callId, resume };
}

/**
 * A match's resume: its ticket, and the wait for call-resumed once resume-call
 * was sent. The Matched state owns it and the controller stops it when the
 * state is left, so no wait outlives its call.
 */
export class ResumeWait {
  private timer: unknown = null;

  constructor(
    readonly ticket: ResumeTicket,
    private readonly timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>,
  ) {}

  get waiting(): boolean {
    return this.timer !== null;
  }

  /** resume-call was sent: `onTimeout` runs unless call-resumed (stop) comes within RESUME_TIMEOUT_MS. */
  begin(onTimeout: () => void): void {
    this.stop();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      onTimeout();
    }, RESUME_TIMEOUT_MS);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Connects again after the server refused a connection with code
 * 'unavailable': its shared state is briefly out (docs/scaling.md), not a
 * refusal of this user, so the session is kept. socket.io-client does not
 * retry a connection the server refused (the socket is no longer active), so
 * connect() is called here, after 1, 2, 4 … 30 s with jitter: pages refused
 * together do not all come back at once. A refusal a minute after the last
 * one is a new outage.
 */
export class Redial {
  private timer: unknown = null;
  private tries = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly socket: { readonly connected: boolean; connect?: () => unknown },
    private readonly timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>,
    private readonly now: () => number,
  ) {}

  refused(): void {
    if (this.now() - this.lastAt > 60_000) this.tries = 0;
    this.lastAt = this.now();
    const delayMs = Math.min(30_000, 1000 * 2 ** this.tries++) * (0.5 + Math.random() / 2);
    this.stop();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (!this.socket.connected) this.socket.connect?.();
    }, delayMs);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
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
