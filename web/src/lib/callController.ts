// The room's controller: turns socket events (serverEvents.ts) and the user's
// buttons into transitions of the call state (callState.ts), and publishes one
// RoomState (roomState.ts) for the React page to render; what every input goes
// through (the transition point, searches, the published state) is in
// callCore.ts. Plain TypeScript with injected dependencies (socket,
// RTCPeerConnection factory, clock, timers), so that the tests drive it with
// fakes. The WebRTC work of a match is in its CallSession; whatever else
// belongs to one call (its resume wait, the partner's media-state, whom Report
// applies to) is in its Matched state, so leaving the state lets it go. The
// text chat is in ChatController; toasts, heartbeats and the last call's
// partner in their own small classes.

import { CallCore } from './callCore';
import { CallSession, type FailReason } from './callSession';
import { banned, connectedOnce, idle, matched, readMatch, withPartnerMedia, withPeer, type MatchDetails } from './callState';
import { banFromConnectError } from './moderation';
import { send, type BanInfo, type HeartbeatAck, type MatchFound, type MediaState, type Quality, type ReportReason, type Untrusted } from './protocol';
import { mediaStillUp, readResume, ResumeWait, willReconnect } from './recovery';
import type { CallDeps } from './roomState';
import { listenRoom, type PartnerGone, type RoomEvents } from './serverEvents';
import { sentence } from './toasts';
import { t } from '../i18n';

export type { CallDeps, PeerFactory, RoomState } from './roomState';

export class CallController extends CallCore implements RoomEvents {
  private readonly detach: () => void;

  constructor(deps: CallDeps) {
    super(deps);
    this.detach = listenRoom(this.socket, this);
    if (this.socket.connected) this.heartbeat.start();
  }

  // ---- public API -------------------------------------------------------

  /** Start searching for a partner (only when idle). */
  start(): void {
    if (this.disposed || this.state.call.phase !== 'idle') return;
    this.search('find-partner', null);
  }

  /** End the current call and search again at once; Start when idle. */
  next(): void {
    if (this.disposed) return;
    const call = this.state.call;
    if (call.phase === 'idle') return this.start();
    if (call.phase !== 'matched') return; // searching already keeps its place; banned stays banned
    this.chat.endCall(t('call.movedOn'));
    this.search('next', null);
  }

  /** End the call or stop waiting. */
  stop(): void {
    const call = this.state.call;
    if (this.disposed || call.phase === 'banned') return;
    if (call.phase === 'matched') this.chat.endCall(t('call.youLeft'));
    if (call.phase !== 'idle') send(this.socket, 'leave');
    this.enter(idle());
  }

  /**
   * What we send changed (camera / mic toggled, or the stream came or went):
   * the partner is told at once when the call carries media, otherwise when it
   * connects.
   */
  setLocalMedia(media: MediaState): void {
    const changed = media.video !== this.localMedia.video || media.audio !== this.localMedia.audio;
    this.localMedia = { ...media };
    const call = this.state.call;
    if (changed && call.phase === 'matched' && call.mode === 'video' && call.everConnected) send(this.socket, 'media-state', { ...this.localMedia });
  }

  /** Send a chat message to the partner; false (with a reason) when it cannot go. */
  sendChat(text: string): { ok: true } | { ok: false; error: string } {
    if (this.disposed) return { ok: false, error: t('call.closed') };
    return this.chat.send(text);
  }

  /** The chat input's value changed: drives our typing indicator. */
  chatInput(value: string): void {
    if (!this.disposed) this.chat.input(value);
  }

  /** The chat input lost focus. */
  chatBlur(): void {
    if (!this.disposed) this.chat.blur();
  }

  /**
   * Block the current partner (or the last one, until the next match): the
   * call ends and, with auto-search on, a new search starts. With `forCallSeq`
   * nothing is sent if a new match came in meanwhile.
   */
  block(forCallSeq?: number): boolean {
    const target = this.moderationTarget(forCallSeq);
    if (!target) return false;
    if (target.serverCallId) send(this.socket, 'block-partner', { callId: target.serverCallId });
    else send(this.socket, 'block-partner');
    this.afterModeration(target, t('call.blocked', { name: target.name }), t('call.blockedDetail'));
    return true;
  }

  /**
   * Report the current (or last) partner; ends the call like block. With
   * `forCallSeq` (the call the dialog was opened for) nothing is sent if a new
   * match came in meanwhile: the report would hit the wrong person.
   */
  report(reason: ReportReason, note = '', forCallSeq?: number, picture?: string): boolean {
    const target = this.moderationTarget(forCallSeq);
    if (!target) return false;
    const trimmed = note.trim();
    // the still from the report dialog (issue 24), only when the user attached it
    const call = { ...(target.serverCallId ? { callId: target.serverCallId } : {}), ...(picture ? { picture } : {}) };
    send(this.socket, 'report-partner', trimmed ? { reason, note: trimmed, ...call } : { reason, ...call });
    this.afterModeration(target, t('call.reported', { name: target.name }), t('call.reportedDetail'));
    return true;
  }

  /** Another camera for the live call (the device picker, the front/back switch). */
  async replaceTrack(track: MediaStreamTrack): Promise<boolean> {
    const session = this.currentSession();
    return session ? session.replaceTrack(track) : false;
  }

  dismissToast(): void {
    this.toasts.clear();
  }

  /** Called by the page when the first remote video frame of call `callSeq` is shown. */
  reportFirstFrame(callSeq: number): void {
    const call = this.state.call;
    if (call.phase === 'matched' && call.callSeq === callSeq) call.session?.firstFrame();
  }

  /** Detach from the socket, close the call, clear every timer. */
  dispose(): void {
    if (this.disposed) return;
    this.release(this.state.call, idle());
    this.clearRetry();
    this.redial.stop();
    this.lastCall.dispose();
    this.chat.dispose();
    this.heartbeat.stop();
    this.toasts.dispose();
    this.detach();
    this.disposed = true;
    this.listeners.clear();
  }

  // ---- socket events: RoomEvents, called by serverEvents.ts only -------------

  currentSession(): CallSession | null {
    const call = this.state.call;
    return call.phase === 'matched' ? call.session : null; // no call: late news of one that ended
  }

  onConnect(): void {
    const back = this.state.link === 'reconnecting';
    this.set({ socketConnected: true, link: 'online' });
    this.toasts.clear('connection');
    this.heartbeat.start();
    // First connect, or the server kept our socket (and replayed what we missed): nothing was lost.
    if (!back || this.socket.recovered) return;
    // A new socket (the server restarted, or we were away too long): it knows nothing of us.
    const call = this.state.call;
    if (call.phase === 'searching') {
      this.search('find-partner', t('call.reconnectedSearching'));
    } else if (call.phase === 'matched') {
      const wait = call.resume;
      if (!wait || !mediaStillUp(call)) return this.resumeFailed(t('call.partnerLostToo'));
      send(this.socket, 'resume-call', { callId: wait.ticket.callId, resume: wait.ticket.resume });
      this.set({ link: 'resuming' });
      wait.begin(() => this.resumeFailed(t('call.partnerNotBack', { name: call.partnerName })));
    }
  }

  onCallResumed(callId: unknown): void {
    const call = this.state.call;
    if (call.phase !== 'matched' || !call.resume || callId !== call.resume.ticket.callId) return;
    call.resume.stop();
    this.set({ link: 'online' });
    this.chat.system(t('call.goesOn'));
  }

  onDisconnect(reason: string): void {
    this.heartbeat.stop();
    this.chat.connectionLost();
    this.set({ socketConnected: false });
    const call = this.state.call;
    if (call.phase === 'banned') return; // the server closes a banned user's connection: not an outage
    if (call.phase === 'matched') call.resume?.stop();
    if (willReconnect(reason, this.socket)) {
      // The call's media flows peer to peer and a search can be sent again: keep both
      // and see what the reconnection brings (onConnect).
      this.set({ link: 'reconnecting' });
      // In a call the media may well go on: the status pill says "reconnecting", quietly;
      // a toast would cover the phone's Next / Stop row for a blip nobody noticed.
      if (call.phase !== 'matched') this.toasts.show('error', t('call.lostReconnecting'), { ttlMs: 0, topic: 'connection' });
      return;
    }
    this.set({ link: 'offline' });
    if (call.phase === 'matched') this.chat.endCall(t('call.serverLost'));
    const notice = {
      idle: call.phase === 'idle' ? call.notice : null,
      searching: t('call.searchStopped'),
      matched: t('call.callEnded'),
    }[call.phase];
    this.enter(idle(notice));
    if (reason === 'io server disconnect') this.toasts.show('error', t('call.serverClosed'), { ttlMs: 0, topic: 'connection' });
    else if (reason !== 'io client disconnect') this.toasts.show('error', t('call.lostReconnecting'), { ttlMs: 0, topic: 'connection' });
  }

  onConnectError(err: unknown): void {
    const ban = banFromConnectError(err);
    if (ban) return this.onBanned(ban);
    const message = (err as { message?: unknown } | null)?.message;
    const why = typeof message === 'string' && message ? message : t('call.serverRefused');
    if ((err as { data?: { code?: unknown } } | null)?.data?.code === 'unavailable') {
      // the server's shared state is briefly out, not a refusal of this user (recovery.ts Redial)
      this.toasts.show('error', t('call.cannotReach', { why }), { ttlMs: 0, topic: 'connection' });
      if (!this.disposed) this.redial.refused();
      return;
    }
    if (this.socket.active === false) this.deps.onRefused?.(t('call.joinAgain', { why: sentence(why) }));
    // A failed attempt to reconnect during a call: the pill already says "reconnecting".
    else if (this.state.link === 'reconnecting' && this.state.call.phase === 'matched') return;
    else this.toasts.show('error', t('call.cannotReach', { why }), { ttlMs: 0, topic: 'connection' });
  }

  onQuality(quality: Quality): void {
    this.set({ quality });
  }

  onHeartbeatAck(d: Untrusted<HeartbeatAck>): void {
    const latencyMs = this.heartbeat.latencyOf(d);
    if (latencyMs !== null) this.set({ latencyMs });
  }

  onReportAck(reportId: unknown): void {
    this.log('report acknowledged', reportId);
    this.toasts.show('info', t('call.reportThanks'), { ttlMs: 5000 });
  }

  onPartnerMedia(media: MediaState): void {
    const call = this.state.call;
    if (call.phase === 'matched') this.set({ call: withPartnerMedia(call, media) });
  }

  onBanned(ban: BanInfo): void {
    if (this.state.call.phase === 'matched') this.chat.endCall(null);
    this.chat.connectionLost();
    this.toasts.clear();
    this.enter(banned(ban));
  }

  onMatchFound(d: Untrusted<MatchFound>): void {
    // A match that crosses our own 'leave' is ended by the server; ignore it.
    const phase = this.state.call.phase;
    if (phase !== 'searching' && phase !== 'matched') return;
    const match = readMatch(d);
    const ticket = readResume(d);
    const resume = ticket ? new ResumeWait(ticket, this.timers) : null;
    const text = match.mode === 'text' || this.choices().mode === 'text';
    const session = text ? null : this.openSession(match, ticket?.callId);
    if (session === undefined) return;
    const { partnerName, commonInterests } = match;
    const like = commonInterests.length > 0;
    const intro = text
      ? t(like ? 'call.chattingWithLike' : 'call.chattingWith', { name: partnerName, interests: commonInterests.join(', ') })
      : t(like ? 'call.talkingToLike' : 'call.talkingTo', { name: partnerName, interests: commonInterests.join(', ') });
    this.chat.startCall(partnerName, intro, ticket?.callId);
    this.enter(matched(session ? session.id : ++this.callSeq, session, match, resume));
    if (!session) return; // text mode: the chat is the whole call; no peer connection is made
    this.deps.onMatch?.(partnerName);
    void session.start(this.deps.getLocalStream());
  }

  /** The peer connection of a video match; undefined (and idle) when this browser cannot make one. */
  private openSession(match: MatchDetails, serverCallId: string | undefined): CallSession | undefined {
    let pc: RTCPeerConnection;
    try {
      pc = this.deps.createPeerConnection({ iceServers: match.iceServers, iceTransportPolicy: match.iceTransportPolicy });
    } catch (err) {
      // e.g. an ICE server URL this browser rejects: retrying would fail the same way
      this.log('RTCPeerConnection failed', err);
      send(this.socket, 'leave');
      this.enter(idle());
      this.toasts.show('error', t('call.noCallHere', { error: String((err as Error)?.message ?? err) }), { ttlMs: 10000 });
      return undefined;
    }
    const deps = this.deps;
    const sessionDeps = { socket: this.socket, timers: this.timers, now: this.now, createMediaStream: deps.createMediaStream, log: deps.log };
    const limits = { statsRetries: deps.statsRetries ?? 5, statsRetryDelayMs: deps.statsRetryDelayMs ?? 300, connectTimeoutMs: deps.connectTimeoutMs?.() ?? 0 };
    return new CallSession(++this.callSeq, match.role, pc, { ...sessionDeps, ...limits, dropCandidates: deps.dropCandidates, callId: serverCallId }, {
      onChange: (view) => {
        const call = this.state.call; // a closed session never calls: this is its state
        if (call.phase !== 'matched') return;
        // the partner learns whether our camera / mic are on once media can flow
        const tell = view.connectionState === 'connected' && !call.everConnected;
        this.set({ call: tell ? connectedOnce(withPeer(call, view)) : withPeer(call, view) });
        if (tell) send(this.socket, 'media-state', { ...this.localMedia });
      },
      onFailed: (why) => this.onCallFailed(why),
    });
  }

  onPartnerGone(what: PartnerGone): void {
    const call = this.state.call;
    if (call.phase !== 'matched') return; // we already moved on (e.g. pressed Next too)
    // A 'next' in a video call that never connected: the partner most likely gave up on it
    // (their side failed first) and did not "skip" anyone; say what we know.
    if (what === 'call.partnerSkipped' && call.mode === 'video' && !call.everConnected) what = 'call.partnerGoneConnecting';
    this.chat.endCall(t(what, { name: call.partnerName }));
    this.afterCall(t(what, { name: t('call.stranger') }), t('call.lookingNew'), t('call.pressStartNew'));
  }

  /** The current call's connection failed (its session already sent call-stats {outcome: 'failed'}). */
  private onCallFailed(why: FailReason): void {
    const call = this.state.call;
    const name = call.phase === 'matched' ? call.partnerName : t('call.yourPartner');
    const what = why === 'timeout' ? t('call.couldNotConnect', { name }) : t('call.connectionFailed', { name });
    this.chat.endCall(what);
    this.toasts.show('error', what, { ttlMs: 6000 });
    // 'next' ends the call on the server and searches again at once
    if (!this.choices().autoSearch) send(this.socket, 'leave');
    this.afterCall(what, t('call.findingElse'), t('call.pressStartRetry'), 'next');
  }
}
