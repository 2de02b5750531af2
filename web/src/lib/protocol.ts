// The wire protocol of the '/random-chat' Socket.IO namespace, as the page
// uses it. docs/protocol.md is the contract; the event names and payload
// types come from wire.gen.ts, which `make protocol` generates from the
// server's src/randomchat/protocol/ (a server test fails when the two
// disagree). The rest of the page imports them from here only. `listen` and
// `send` accept only those event names, so tsc finds a misspelt event or a
// wrong payload. Messages (`message` fields) are for people and never a key:
// `event`, `id` and `code` say what a refusal is about.

import type { ClientEvents, SearchRequest, ServerEvents } from './wire.gen';

export { MAX_LANGUAGES, MAX_REPORT_NOTE, REFUSAL, REPORT_REASONS } from './wire.gen';

export type {
  BanInfo,
  CallFailed,
  CallStats,
  CandidateType,
  ChatAck,
  ChatIncoming,
  ChatOutgoing,
  ClientEvents,
  ConnectionQuality,
  ErrorCode,
  Heartbeat,
  HeartbeatAck,
  IceCandidate,
  MatchFound,
  MediaState,
  MessageId,
  Mode,
  PrivacyMode,
  PartnerLeft,
  Quality,
  RateLimited,
  ReportAck,
  ReportPartner,
  ReportReason,
  Role,
  SearchAction,
  SearchRequest,
  ServerError,
  ServerEvents,
  SessionDescription,
  TypingEvent,
  WaitingForPartner,
} from './wire.gen';

/** The page's name for what `find-partner` and `next` carry (the wire's SearchRequest). */
export type SearchOptions = SearchRequest;

/** A partner whose name ends with this is a bot (the echo bot: `randomchat echo-bot`). */
export const BOT_SUFFIX = ' (bot)';

export function isBotName(name: string | null | undefined): boolean {
  return typeof name === 'string' && name.endsWith(BOT_SUFFIX);
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
  /** after a reconnection: the server kept our socket and replayed what we missed (recovery.ts) */
  readonly recovered?: boolean;
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
