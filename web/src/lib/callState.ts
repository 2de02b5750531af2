// The call as the page sees it: one of four states, each written out whole
// below, and one function per transition that builds the whole next state.
// What a state owns (a match's CallSession and ResumeWait) is released by the
// controller when the state is left (CallCore.enter); the rest of a
// call's data (the partner's media-state, whom Report applies to) lives in
// Matched and goes with it.
//
//   idle ──Start──▶ searching ──match-found──▶ matched
//    ▲                 │  ▲                       │
//    └──Stop / refused─┘  └──Next, partner gone,──┘
//    ▲                       failure (auto-search)
//    └──────── Stop, partner gone, failure (no auto-search) ──┘
//   any ──banned──▶ banned (final: the page shows the ban, a new
//                   connection starts over)

import type { CallSession, PeerView } from './callSession';
import type { ModerationTarget } from './lastCall';
import type { BanInfo, MatchFound, MediaState, Mode, Role, SearchAction, SearchOptions, Untrusted } from './protocol';
import type { ResumeWait } from './recovery';

/** No call, no search. */
export interface Idle {
  readonly phase: 'idle';
  /** a sentence about what just happened ("Stranger left. Press Start…") */
  readonly notice: string | null;
}

/** A search request sent that the server has not answered yet (retried after a rate limit). */
export interface SearchRequest {
  readonly action: SearchAction;
  readonly options: SearchOptions | undefined;
}

/** Looking for a partner: asked, or in the queue. */
export interface Searching {
  readonly phase: 'searching';
  readonly notice: string | null;
  /** 1-based, once the server queued us */
  readonly queuePosition: number | null;
  /** the request until the server answers it (waiting-for-partner or match-found) */
  readonly unanswered: SearchRequest | null;
}

/**
 * Paired with a partner, from match-found until the call ends, whether or not
 * media flows yet (`connectionState` says that). The page's test contract
 * calls this data-phase="connected" (see dataPhase).
 */
export interface Matched extends PeerView {
  readonly phase: 'matched';
  /** owns the RTCPeerConnection of this call; closed when the state is left. Null in text mode (no peer connection at all). */
  readonly session: CallSession | null;
  /** the page's count of calls (CallSession.id); the server's callId, a string, is `target.serverCallId` */
  readonly callSeq: number;
  /** the common mode of the two (match-found `mode`) */
  readonly mode: Mode;
  readonly role: Role;
  readonly partnerName: string;
  /** interests shared with the partner */
  readonly commonInterests: string[];
  /** spoken languages shared with the partner (ISO 639 codes) */
  readonly commonLanguages: string[];
  /** from match-found: 'relay' when the call may only use TURN */
  readonly iceTransportPolicy: RTCIceTransportPolicy;
  /** whom Report and Block apply to during this call (LastCall keeps it once the call ended) */
  readonly target: ModerationTarget;
  /** match-found's resume ticket and the wait for call-resumed; null from a server that predates resume */
  readonly resume: ResumeWait | null;
  /** what the partner says it sends (media-state), null until it says */
  readonly partnerMedia: MediaState | null;
  /** the peer connection reached 'connected' once: the partner was told then what we send (media-state) */
  readonly everConnected: boolean;
}

/** The server banned this user: nothing more until the ban is over and the page reconnects. */
export interface Banned {
  readonly phase: 'banned';
  readonly ban: BanInfo;
}

export type CallState = Idle | Searching | Matched | Banned;

// ---- transitions ---------------------------------------------------------

export function idle(notice: string | null = null): Idle {
  return { phase: 'idle', notice };
}

/** Start / Next / search again: the request is on its way. */
export function searching(request: SearchRequest, notice: string | null): Searching {
  return { phase: 'searching', notice, queuePosition: null, unanswered: request };
}

/** The server queued us (or told us we already are). */
export function queued(s: Searching, queuePosition: number | null): Searching {
  return { phase: 'searching', notice: s.notice, queuePosition, unanswered: null };
}

/** Idle or searching with a new sentence about what happened. */
export function withNotice(s: Idle | Searching, notice: string): Idle | Searching {
  return s.phase === 'idle' ? idle(notice) : { phase: 'searching', notice, queuePosition: s.queuePosition, unanswered: s.unanswered };
}

/**
 * A new match: `session` owns its peer connection, or is null in text mode (the chat is
 * the call; no peer connection, no media).
 */
export function matched(callSeq: number, session: CallSession | null, match: MatchDetails, resume: ResumeWait | null): Matched {
  const peer: PeerView = session ? session.getView() : { remoteStream: null, connectionState: 'new', iceConnectionState: 'new' };
  return {
    phase: 'matched',
    session,
    callSeq,
    role: match.role,
    mode: session ? 'video' : 'text',
    partnerName: match.partnerName,
    commonInterests: match.commonInterests,
    commonLanguages: match.commonLanguages,
    iceTransportPolicy: match.iceTransportPolicy,
    target: { name: match.partnerName, callSeq, serverCallId: resume?.ticket.callId ?? null, endedAt: null },
    resume,
    partnerMedia: null,
    everConnected: false,
    ...peer,
  };
}

/** The partner told us what it sends. */
export function withPartnerMedia(m: Matched, partnerMedia: MediaState): Matched {
  return { ...m, partnerMedia };
}

/** Media flows for the first time (and the partner is told what we send). */
export function connectedOnce(m: Matched): Matched {
  return { ...m, everConnected: true };
}

/** The same call with news from its connection. */
export function withPeer(m: Matched, view: PeerView): Matched {
  return {
    ...m,
    remoteStream: view.remoteStream,
    connectionState: view.connectionState,
    iceConnectionState: view.iceConnectionState,
    mediaQuality: view.mediaQuality ?? null,
    restarting: view.restarting ?? false,
    relayed: view.relayed ?? null,
  };
}

export function banned(ban: BanInfo): Banned {
  return { phase: 'banned', ban };
}

// ---- reading match-found ---------------------------------------------------

export interface MatchDetails {
  role: Role;
  partnerName: string;
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
  commonInterests: string[];
  commonLanguages: string[];
  /** absent from a server that predates modes: video */
  mode: Mode;
}

/** match-found with every field checked and defaulted. */
export function readMatch(d: Untrusted<MatchFound>): MatchDetails {
  return {
    role: d?.role === 'initiator' ? 'initiator' : 'receiver',
    partnerName: typeof d?.partnerName === 'string' && d.partnerName ? d.partnerName : 'Stranger',
    iceServers: Array.isArray(d?.iceServers) ? d.iceServers : [],
    // As the server says: a relay-only call gathers and uses TURN candidates only.
    iceTransportPolicy: d?.iceTransportPolicy === 'relay' ? 'relay' : 'all',
    commonInterests: Array.isArray(d?.commonInterests) ? d.commonInterests.filter((x) => typeof x === 'string') : [],
    commonLanguages: Array.isArray(d?.commonLanguages) ? d.commonLanguages.filter((x) => typeof x === 'string') : [],
    mode: d?.mode === 'text' ? 'text' : 'video',
  };
}

/** data-phase on the status pill: the contract with the browser tests predates 'matched'. */
export function dataPhase(call: CallState): 'idle' | 'searching' | 'connected' {
  switch (call.phase) {
    case 'matched':
      return 'connected';
    case 'searching':
      return 'searching';
    case 'idle':
    case 'banned':
      return 'idle';
  }
}
