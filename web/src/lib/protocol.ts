// Wire protocol of the '/random-chat' Socket.IO namespace (docs/protocol.md is
// the contract; the server's side is src/randomchat). Every event name and
// payload the page uses is declared here, once: `ServerEvents` and
// `ClientEvents` map names to payloads, and `listen` / `send` only accept
// those names, so tsc finds a misspelt event or a wrong payload.

export type Role = 'initiator' | 'receiver';
export type Quality = 'excellent' | 'good' | 'poor';
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface WaitingForPartner {
  queuePosition: number;
  timestamp?: number;
}

export interface MatchFound {
  role: Role;
  partnerName: string;
  timestamp?: number;
  iceServers?: RTCIceServer[];
  /** 'relay' for a relay-only call (the deployment's policy or either user's privacy request); 'all' when absent */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** interests both sides gave (empty when matched by widening or without interests) */
  commonInterests?: string[];
}

export interface PartnerLeft {
  reason?: 'next' | 'leave' | string;
}

/** The two requests that start a search; `next` also ends the current call. */
export type SearchAction = 'find-partner' | 'next';

export interface RateLimited {
  /** for people, never a key: `event` says what was refused */
  message?: string;
  /** milliseconds */
  retryAfter?: number;
  /** the refused event: 'find-partner', 'next' or 'chat-message' */
  event?: string;
  /** the refused chat message's id (event 'chat-message') */
  id?: string | number;
}

export interface ServerError {
  /** for people, never a key */
  message?: string;
  /**
   * the refused event (a malformed or refused request); absent when the
   * server refused a move its state does not allow ("Already in queue")
   */
  event?: string;
}

/** find-partner / next payload; omitted for a plain search */
export interface SearchOptions {
  interests?: string[];
  strict?: boolean;
  /** ask for a relay-only call, so the partner cannot learn our IP address */
  privacy?: boolean;
}

/** A partner whose name ends with this is a bot (the echo bot: `randomchat echo-bot`). */
export const BOT_SUFFIX = ' (bot)';

export function isBotName(name: string | null | undefined): boolean {
  return typeof name === 'string' && name.endsWith(BOT_SUFFIX);
}

/** client -> server chat-message */
export interface ChatOutgoing {
  text: string;
  id: string | number;
}

/** server -> client chat-message (from the partner) */
export interface ChatIncoming {
  text: string;
  id?: string | number;
  /** Unix ms */
  sentAt?: number;
}

export interface ChatAck {
  id: string | number;
}

export interface TypingEvent {
  active: boolean;
}

export type ReportReason = 'nudity' | 'harassment' | 'spam' | 'underage' | 'other';
export const REPORT_REASONS: readonly ReportReason[] = ['nudity', 'harassment', 'spam', 'underage', 'other'];
export const MAX_REPORT_NOTE = 500;

export interface ReportPartner {
  reason: ReportReason;
  note?: string;
}

export interface ReportAck {
  reportId?: string | number;
}

/** server -> client 'banned', and err.data of connect_error 'Banned' */
export interface BanInfo {
  /** Unix ms */
  until: number;
  reason: string;
}

export interface Heartbeat {
  sentAt: number;
}

export interface HeartbeatAck {
  sentAt: number;
  serverTime?: number;
}

export interface CallStats {
  timeToMediaMs: number;
  candidateType: CandidateType;
  rttMs: number | null;
}

/** call-stats when the call never connected (ICE failed for good) */
export interface CallFailed {
  outcome: 'failed';
}

export interface ConnectionQuality {
  quality: Quality;
}

export interface SignalOffer {
  offer: RTCSessionDescriptionInit;
}

export interface SignalAnswer {
  answer: RTCSessionDescriptionInit;
}

export interface SignalCandidate {
  candidate: RTCIceCandidateInit;
}

export interface SignalCandidateBatch {
  candidates: RTCIceCandidateInit[];
}

/** `err.message` of the connect_error that refuses a banned user (`err.data` is a BanInfo). */
export const CONNECT_REFUSED_BANNED = 'Banned';

/** server -> client: event name -> payload */
export interface ServerEvents {
  'connection-quality': ConnectionQuality;
  'waiting-for-partner': WaitingForPartner;
  'match-found': MatchFound;
  'signal-offer': SignalOffer;
  'signal-answer': SignalAnswer;
  'signal-ice-candidate': SignalCandidate;
  'signal-ice-candidates-batch': SignalCandidateBatch;
  'partner-left': PartnerLeft;
  'partner-disconnected': Record<string, never>;
  'rate-limited': RateLimited;
  error: ServerError;
  'heartbeat-ack': HeartbeatAck;
  'chat-message': ChatIncoming;
  'chat-message-ack': ChatAck;
  typing: TypingEvent;
  'block-partner-ack': Record<string, never>;
  'report-partner-ack': ReportAck;
  banned: BanInfo;
}

/** client -> server: event name -> the arguments of emit after the name */
export interface ClientEvents {
  'find-partner': [options?: SearchOptions];
  next: [options?: SearchOptions];
  leave: [];
  'signal-offer': [SignalOffer];
  'signal-answer': [SignalAnswer];
  'signal-ice-candidate': [SignalCandidate];
  heartbeat: [Heartbeat];
  'call-stats': [CallStats | CallFailed];
  'chat-message': [ChatOutgoing];
  typing: [TypingEvent];
  'block-partner': [];
  'report-partner': [ReportPartner];
}

/**
 * What arrives from the server is not trusted to have the declared shape:
 * every field may be missing, and the payload itself too.
 */
export type Untrusted<T> = Partial<T> | null | undefined;

/** Socket.IO's own events on the client socket (not part of our protocol). */
export interface SocketLifecycle {
  connect: () => void;
  disconnect: (reason: string) => void;
  connect_error: (err: unknown) => void;
}

export type ServerHandlers = { [E in keyof ServerEvents]?: (payload: Untrusted<ServerEvents[E]>) => void } & Partial<SocketLifecycle>;

/** The subset of a socket.io-client Socket the page uses. */
export interface SignalingSocket {
  readonly connected: boolean;
  /** false once socket.io-client gave up reconnecting (the server refused us) */
  readonly active?: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
}

/** Subscribe `handlers` to `socket`; returns the function that unsubscribes them all. */
export function listen(socket: SignalingSocket, handlers: ServerHandlers): () => void {
  const entries = Object.entries(handlers).filter((e): e is [string, (...args: any[]) => void] => typeof e[1] === 'function');
  for (const [event, fn] of entries) socket.on(event, fn);
  return () => {
    for (const [event, fn] of entries) socket.off(event, fn);
  };
}

/** Emit a protocol event with its payload (checked against ClientEvents). */
export function send<E extends keyof ClientEvents>(socket: SignalingSocket, event: E, ...args: ClientEvents[E]): void {
  socket.emit(event, ...args);
}
