// Wire protocol of the '/random-chat' Socket.IO namespace (see issue 3 and
// the server in src/randomchat). Kept in one place so the call controller,
// the page and the tests agree on names and payloads.

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

export interface RateLimited {
  message?: string;
  /** milliseconds */
  retryAfter?: number;
}

export interface ServerError {
  message?: string;
  /** the event that was refused, for invalid payloads */
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

/** The subset of a socket.io-client Socket the call controller uses. */
export interface SignalingSocket {
  readonly connected: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
}
