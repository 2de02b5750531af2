// Generated from src/randomchat/protocol/ by `make protocol`: do not edit.
// A test fails when this file and the server's protocol module disagree.

export type Role = 'initiator' | 'receiver';
export type Quality = 'excellent' | 'good' | 'poor';
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type IcePolicy = 'all' | 'relay';
export type Mode = 'video' | 'text';
export type ReportReason = 'nudity' | 'harassment' | 'spam' | 'underage' | 'other';
export type ErrorCode = 'invalid_payload' | 'refused' | 'unavailable' | 'internal' | 'unknown_event' | 'privacy_unavailable';
export type PrivacyMode = 'available' | 'always' | 'no-turn' | 'off';
export type RateLimitedEvent = 'find-partner' | 'next' | 'chat-message' | 'report-partner';
export type SearchAction = 'find-partner' | 'next';
export type MessageId = string | number;

export type Empty = Record<string, never>;

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface ConnectionQuality {
  quality: Quality;
}

export interface WaitingForPartner {
  queuePosition: number;
  timestamp: number;
}

export interface MatchFound {
  role: Role;
  partnerName: string;
  timestamp: number;
  iceServers: IceServer[];
  iceTransportPolicy: IcePolicy;
  commonInterests: string[];
  commonLanguages: string[];
  callId: string;
  resume: string;
  mode: Mode;
}

export interface SignalOffer {
  offer: SessionDescription;
  callId?: string;
}

export interface SignalAnswer {
  answer: SessionDescription;
  callId?: string;
}

export interface SignalCandidate {
  candidate: IceCandidate;
  callId?: string;
}

export interface SignalCandidateBatch {
  candidates: IceCandidate[];
}

export interface PartnerLeft {
  reason: 'next' | 'leave';
}

export interface RateLimited {
  message: string;
  retryAfter: number;
  event: RateLimitedEvent;
  id?: MessageId;
}

export interface ServerError {
  message: string;
  event: string;
  code: ErrorCode;
}

export interface HeartbeatAck {
  sentAt: number;
  serverTime: number;
}

export interface ChatIncoming {
  text: string;
  id: MessageId;
  sentAt: number;
}

export interface ChatAck {
  id: MessageId;
}

export interface TypingEvent {
  active: boolean;
}

export interface MediaState {
  video: boolean;
  audio: boolean;
}

export interface CallResumed {
  callId: string;
}

export interface ReportAck {
  reportId: number;
  picture?: boolean;
}

export interface BanInfo {
  until: number;
  reason: string;
}

export interface SearchRequest {
  interests?: string[];
  strict?: boolean;
  privacy?: boolean;
  mode?: Mode;
  languages?: string[];
  languagesOnly?: boolean;
}

export interface Heartbeat {
  sentAt: number;
}

export interface CallStats {
  timeToMediaMs: number;
  candidateType: CandidateType;
  rttMs: number | null;
  outcome?: 'connected';
}

export interface CallFailed {
  outcome: 'failed';
}

export interface ChatOutgoing {
  text: string;
  id: MessageId;
  callId?: string;
}

export interface ResumeCall {
  callId: string;
  resume: string;
}

export interface ReportPartner {
  reason: ReportReason;
  note?: string;
  callId?: string;
  picture?: string;
}

export interface BlockPartner {
  callId?: string;
}

/** server -> client: event name -> payload (undefined: none) */
export interface ServerEvents {
  'connection-quality': ConnectionQuality;
  'waiting-for-partner': WaitingForPartner;
  'match-found': MatchFound;
  'signal-offer': SignalOffer;
  'signal-answer': SignalAnswer;
  'signal-offer-ack': undefined;
  'signal-answer-ack': undefined;
  'signal-ice-candidate': SignalCandidate;
  'signal-ice-candidates-batch': SignalCandidateBatch;
  'partner-disconnected': Empty;
  'partner-left': PartnerLeft;
  'rate-limited': RateLimited;
  'error': ServerError;
  'heartbeat-ack': HeartbeatAck;
  'chat-message': ChatIncoming;
  'chat-message-ack': ChatAck;
  'typing': TypingEvent;
  'block-partner-ack': Empty;
  'report-partner-ack': ReportAck;
  'banned': BanInfo;
  'call-resumed': CallResumed;
  'media-state': MediaState;
}

/** client -> server: event name -> the arguments of emit after the name */
export interface ClientEvents {
  'find-partner': [options?: SearchRequest];
  'next': [options?: SearchRequest];
  'leave': [];
  'signal-offer': [SignalOffer];
  'signal-answer': [SignalAnswer];
  'signal-ice-candidate': [SignalCandidate];
  'heartbeat': [Heartbeat];
  'call-stats': [CallStats | CallFailed];
  'chat-message': [ChatOutgoing];
  'typing': [TypingEvent];
  'block-partner': [options?: BlockPartner];
  'report-partner': [ReportPartner];
  'resume-call': [ResumeCall];
  'media-state': [MediaState];
}

export const SERVER_EVENTS = ['connection-quality', 'waiting-for-partner', 'match-found', 'signal-offer', 'signal-answer', 'signal-offer-ack', 'signal-answer-ack', 'signal-ice-candidate', 'signal-ice-candidates-batch', 'partner-disconnected', 'partner-left', 'rate-limited', 'error', 'heartbeat-ack', 'chat-message', 'chat-message-ack', 'typing', 'block-partner-ack', 'report-partner-ack', 'banned', 'call-resumed', 'media-state'] as const;
export const CLIENT_EVENTS = ['find-partner', 'next', 'leave', 'signal-offer', 'signal-answer', 'signal-ice-candidate', 'heartbeat', 'call-stats', 'chat-message', 'typing', 'block-partner', 'report-partner', 'resume-call', 'media-state'] as const;

export const REPORT_REASONS: readonly ReportReason[] = ['nudity', 'harassment', 'spam', 'underage', 'other'];
export const MAX_REPORT_NOTE = 500;
export const MAX_LANGUAGES = 5;  /* SearchRequest.languages */
/** `err.message` of a connect_error the page acts on (the others are for people). */
export const REFUSAL = {
  BANNED: 'Banned',
  RULES_CHANGED: 'Rules changed',
} as const;
