// What the call controller publishes (RoomState) and what it is given
// (CallDeps): its contract with the page and the tests, apart from its methods
// (callController.ts).

import type { CallState } from './callState';
import type { ChatState } from './chat';
import type { ModerationTarget } from './lastCall';
import type { Choices } from './choices';
import type { MediaState, Quality, SignalingSocket } from './protocol';
import type { Link } from './recovery';
import type { Toast } from './toasts';
import type { Timers } from './timers';

export interface RoomState {
  call: CallState;
  socketConnected: boolean;
  quality: Quality | null;
  /** socket round trip from heartbeat/heartbeat-ack, ms */
  latencyMs: number | null;
  /** the signaling link: a call and a search outlive 'reconnecting' and 'resuming' (recovery.ts) */
  link: Link;
  /** what the partner says it sends (media-state): a view of Matched.partnerMedia, null outside a call */
  partnerMedia: MediaState | null;
  /** whom Report / Block apply to, a view: Matched.target in a call, else the last call's partner for a few minutes (lastCall.ts) */
  moderationTarget: ModerationTarget | null;
  /** the text chat of the current (or just ended) call */
  chat: ChatState;
  toast: Toast | null;
}

export type PeerFactory = (config: RTCConfiguration) => RTCPeerConnection;

export interface CallDeps {
  socket: SignalingSocket;
  createPeerConnection: PeerFactory;
  /** the current local camera/mic stream, or null (receive-only) */
  getLocalStream: () => MediaStream | null;
  /** builds a MediaStream for tracks that arrive without one */
  createMediaStream?: () => MediaStream;
  /** the server refused this connection for good (bad or expired token): the page signs out */
  onRefused?: (message: string) => void;
  /** the user's choices (choices.ts, owned by the page), read at each search and match */
  choices?: () => Choices;
  now?: () => number;
  timers?: Timers;
  heartbeatIntervalMs?: number;
  /** retries of getStats() while the selected pair is not known yet */
  statsRetries?: number;
  statsRetryDelayMs?: number;
  /** give up a call without media after this long (read at each match; 0: never) */
  connectTimeoutMs?: () => number;
  /** a match arrived (notifications) */
  onMatch?: (partnerName: string) => void;
  /** test only: ICE cannot succeed (CallSessionDeps.dropCandidates) */
  dropCandidates?: boolean;
  /** chat options (typing throttle etc.), mostly for tests */
  chat?: { typingThrottleMs?: number; typingIdleMs?: number; partnerTypingTimeoutMs?: number; ackTimeoutMs?: number };
  log?: (...args: unknown[]) => void;
}
