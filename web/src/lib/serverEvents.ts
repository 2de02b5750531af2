// What the page does with each server event: one small function per event,
// typed against the generated wire map (ServerEvents in wire.gen.ts), so a
// renamed event or a changed payload fails tsc here. Each function only reads
// the payload and hands it to the controller's entry point for it; what the
// event means for the call is decided there (callController.ts).

import type { CallSession } from './callSession';
import { parseMediaState } from './mediaState';
import { parseBan } from './moderation';
import { listen, type BanInfo, type ServerHandlers, type MatchFound, type MediaState, type Quality, type RateLimited, type ServerError, type ServerEvents, type SignalingSocket, type SocketLifecycle, type Untrusted } from './protocol';
import { t } from '../i18n';

/** How a partner's leaving is put (i18n keys). */
export type PartnerGone = 'call.partnerLeft' | 'call.partnerSkipped' | 'call.partnerDisconnected' | 'call.partnerGoneConnecting';

/** The controller's entry points for server events (CallController implements them). */
export interface RoomEvents {
  onConnect(): void;
  onDisconnect(reason: string): void;
  onConnectError(err: unknown): void;
  onQuality(quality: Quality): void;
  onWaiting(queuePosition: unknown): void;
  onMatchFound(d: Untrusted<MatchFound>): void;
  /** the current call's session; null: late news of a call that ended */
  currentSession(): CallSession | null;
  onPartnerGone(what: PartnerGone): void;
  onRateLimited(d: Untrusted<RateLimited>): void;
  onServerError(d: Untrusted<ServerError>): void;
  onHeartbeatAck(d: unknown): void;
  onBanned(ban: BanInfo): void;
  onReportAck(reportId: unknown): void;
  onCallResumed(callId: unknown): void;
  onPartnerMedia(media: MediaState): void;
  log(...args: unknown[]): void;
}

type Handlers = { [E in keyof ServerEvents]?: (room: RoomEvents, d: Untrusted<ServerEvents[E]>) => void } & {
  [E in keyof SocketLifecycle]: (room: RoomEvents, ...args: Parameters<SocketLifecycle[E]>) => void;
};

/** Every server event the page acts on; the others (signal acks, chat's own) are not its business. */
export const SERVER_EVENTS: Handlers = {
  connect: (room) => room.onConnect(),
  disconnect: (room, reason) => room.onDisconnect(reason),
  connect_error: (room, err) => room.onConnectError(err),
  'connection-quality': (room, d) => d?.quality && room.onQuality(d.quality),
  'waiting-for-partner': (room, d) => room.onWaiting(d?.queuePosition),
  'match-found': (room, d) => room.onMatchFound(d),
  'signal-offer': (room, d) => d?.offer && void room.currentSession()?.acceptOffer(d.offer),
  'signal-answer': (room, d) => d?.answer && void room.currentSession()?.acceptAnswer(d.answer),
  'signal-ice-candidate': (room, d) => room.currentSession()?.addRemoteCandidates(d?.candidate ? [d.candidate] : []),
  'signal-ice-candidates-batch': (room, d) => room.currentSession()?.addRemoteCandidates(Array.isArray(d?.candidates) ? d.candidates : []),
  'partner-left': (room, d) => room.onPartnerGone(d?.reason === 'leave' ? 'call.partnerLeft' : 'call.partnerSkipped'),
  'partner-disconnected': (room) => room.onPartnerGone('call.partnerDisconnected'),
  'rate-limited': (room, d) => room.onRateLimited(d),
  error: (room, d) => room.onServerError(d),
  'heartbeat-ack': (room, d) => room.onHeartbeatAck(d),
  banned: (room, d) => room.onBanned(parseBan(d) ?? { until: Number.NaN, reason: t('ban.noReason') }),
  'report-partner-ack': (room, d) => room.onReportAck(d?.reportId),
  'block-partner-ack': (room) => room.log('block acknowledged'),
  'call-resumed': (room, d) => room.onCallResumed(d?.callId),
  'media-state': (room, d) => {
    const media = parseMediaState(d);
    if (media) room.onPartnerMedia(media);
  },
};

/** Subscribe `room` to every event of SERVER_EVENTS on `socket`; returns the function that unsubscribes. */
export function listenRoom(socket: SignalingSocket, room: RoomEvents): () => void {
  const bound: Record<string, (...args: any[]) => void> = {};
  for (const [event, fn] of Object.entries(SERVER_EVENTS) as Array<[string, (room: RoomEvents, ...args: unknown[]) => void]>) {
    bound[event] = (...args: unknown[]) => fn(room, ...args);
  }
  return listen(socket, bound as ServerHandlers);
}
