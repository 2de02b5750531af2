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

/** The subset of a socket.io-client Socket the call controller uses. */
export interface SignalingSocket {
  readonly connected: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
}
