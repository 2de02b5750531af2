// The room's controller: turns socket events and the user's buttons into
// transitions of the call state (callState.ts), and publishes one RoomState
// for the React page to render. Plain TypeScript with injected dependencies
// (socket, RTCPeerConnection factory, clock, timers), so that the tests drive
// it with fakes. The WebRTC work of a match is in its CallSession; the text
// chat in ChatController; toasts and heartbeats in their own small classes.

import { CallSession, type FailReason } from './callSession';
import { banned, idle, matched, matchedText, queued, readMatch, searching, withNotice, withPeer, type CallState, type SearchRequest } from './callState';
import { ChatController, type ChatState } from './chat';
import { Heartbeat } from './heartbeat';
import { mediaStillUp, readResume, RESUME_TIMEOUT_MS, willReconnect, type Link, type ResumeTicket } from './recovery';
import { searchPayload } from './interests';
import { parseMediaState } from './mediaState';
import { withMode } from './mode';
import { banFromConnectError, parseBan } from './moderation';
import { LastCall, type ModerationTarget } from './lastCall';
import {
  listen,
  send,
  type BanInfo,
  type MatchFound,
  type MediaState,
  type Mode,
  type Quality,
  type RateLimited,
  type ReportReason,
  type SearchAction,
  type ServerError,
  type SignalingSocket,
  type Untrusted,
} from './protocol';
import { formatSeconds, sentence, ToastSlot, type Toast } from './toasts';
import { browserTimers, type Timers } from './timers';
import { t } from '../i18n';

export interface RoomState {
  call: CallState;
  socketConnected: boolean;
  quality: Quality | null;
  /** socket round trip from heartbeat/heartbeat-ack, ms */
  latencyMs: number | null;
  /** the signaling link: a call and a search outlive 'reconnecting' and 'resuming' (recovery.ts) */
  link: Link;
  /** search again when a partner leaves or the call fails */
  autoSearch: boolean;
  /** normalised tags sent with find-partner / next (see interests.ts) */
  interests: string[];
  /** only people who share an interest (never widen to anyone) */
  strict: boolean;
  /** ask for relay-only calls ("Hide my IP"), sent as `privacy: true` */
  privacy: boolean;
  /** video chat or text chat, sent with find-partner / next (see mode.ts) */
  mode: Mode;
  /** what the partner says it sends (media-state), null until it says; cleared on each match */
  partnerMedia: MediaState | null;
  /** whom Report / Block apply to: the current partner, or the last one for a few minutes (lastCall.ts) */
  moderationTarget: ModerationTarget | null;
  /** the text chat of the current (or just ended) call */
  chat: ChatState;
  toast: Toast | null;
}

/** Remembered choices to start with (see interests.ts, privacy.ts). */
export interface Preferences {
  interests: string[];
  strict: boolean;
  privacy: boolean;
  mode: Mode;
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
  preferences?: Partial<Preferences>;
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

/** A search answered `unavailable` is sent again after this long. */
const UNAVAILABLE_RETRY_MS = 2000;

export class CallController {
  private state: RoomState;
  private readonly listeners = new Set<(s: RoomState) => void>();
  private readonly socket: SignalingSocket;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly chat: ChatController;
  private readonly toasts: ToastSlot;
  private readonly heartbeat: Heartbeat;
  private readonly detach: () => void;
  private callSeq = 0;
  /** the current call's resume ticket (from match-found), and the wait for call-resumed */
  private resume: ResumeTicket | null = null;
  private resumeTimer: unknown = null;
  /** what we send (camera / mic on), told to each partner when the call connects and on every change */
  private localMedia: MediaState = { video: true, audio: true };
  /** the call whose partner has been told localMedia since the call connected */
  private mediaToldFor = 0;
  /** the last call whose peer connection reached 'connected' (a partner leaving before did not skip a call) */
  private connectedCall = 0;
  /** the retry of a rate-limited search; belongs to the Searching state's unanswered request */
  private retryTimer: unknown = null;
  private readonly lastCall: LastCall;
  private disposed = false;

  constructor(private readonly deps: CallDeps) {
    this.socket = deps.socket;
    this.now = deps.now ?? (() => Date.now());
    this.timers = deps.timers ?? browserTimers;
    this.chat = new ChatController({ socket: deps.socket, timers: this.timers, now: this.now, onChange: (chat) => this.set({ chat }), ...deps.chat });
    this.toasts = new ToastSlot(this.timers, (toast) => this.set({ toast }));
    this.lastCall = new LastCall(this.timers, this.now, () => this.state.moderationTarget, (moderationTarget) => this.set({ moderationTarget }));
    this.heartbeat = new Heartbeat(this.socket, this.timers, this.now, deps.heartbeatIntervalMs ?? 5000);
    this.state = {
      call: idle(),
      socketConnected: deps.socket.connected,
      quality: null,
      latencyMs: null,
      link: deps.socket.connected ? 'online' : 'connecting',
      autoSearch: true,
      interests: [...(deps.preferences?.interests ?? [])],
      strict: deps.preferences?.strict ?? false,
      privacy: deps.preferences?.privacy ?? false,
      mode: deps.preferences?.mode ?? 'video',
      partnerMedia: null,
      moderationTarget: null,
      chat: this.chat.getState(),
      toast: null,
    };
    this.detach = listen(this.socket, {
      connect: () => this.onConnect(),
      disconnect: (reason) => this.onDisconnect(reason),
      connect_error: (err) => this.onConnectError(err),
      'connection-quality': (d) => d?.quality && this.set({ quality: d.quality }),
      'waiting-for-partner': (d) => this.onWaiting(d?.queuePosition),
      'match-found': (d) => this.onMatchFound(d),
      'signal-offer': (d) => d?.offer && void this.session()?.acceptOffer(d.offer),
      'signal-answer': (d) => d?.answer && void this.session()?.acceptAnswer(d.answer),
      'signal-ice-candidate': (d) => this.session()?.addRemoteCandidates(d?.candidate ? [d.candidate] : []),
      'signal-ice-candidates-batch': (d) => this.session()?.addRemoteCandidates(Array.isArray(d?.candidates) ? d.candidates : []),
      'partner-left': (d) => this.onPartnerGone(d?.reason === 'leave' ? 'call.partnerLeft' : 'call.partnerSkipped'),
      'partner-disconnected': () => this.onPartnerGone('call.partnerDisconnected'),
      'rate-limited': (d) => this.onRateLimited(d),
      error: (d) => this.onServerError(d),
      'heartbeat-ack': (d) => {
        const latencyMs = this.heartbeat.latencyOf(d);
        if (latencyMs !== null) this.set({ latencyMs });
      },
      banned: (d) => this.onBanned(parseBan(d) ?? { until: Number.NaN, reason: t('ban.noReason') }),
      'report-partner-ack': (d) => {
        this.deps.log?.('report acknowledged', d?.reportId);
        this.toasts.show('info', t('call.reportThanks'), { ttlMs: 5000 });
      },
      'block-partner-ack': () => this.deps.log?.('block acknowledged'),
      'call-resumed': (d) => this.onCallResumed(d?.callId),
      'media-state': (d) => {
        const media = parseMediaState(d);
        if (media && this.state.call.phase === 'matched') this.set({ partnerMedia: media });
      },
    });
    if (this.socket.connected) this.heartbeat.start();
  }

  // ---- public API -------------------------------------------------------

  getState(): RoomState {
    return this.state;
  }

  subscribe(listener: (s: RoomState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

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

  setAutoSearch(autoSearch: boolean): void {
    this.set({ autoSearch });
  }

  /** Interests for the next search (already normalised, see interests.ts). */
  setInterests(interests: string[]): void {
    this.set({ interests: [...interests] });
  }

  setStrict(strict: boolean): void {
    this.set({ strict });
  }

  /** Ask for relay-only calls from the next search on ("Hide my IP"). */
  setPrivacy(privacy: boolean): void {
    this.set({ privacy });
  }

  /** Video or text from the next search on (the page checks the camera before a video search). */
  setMode(mode: Mode): void {
    this.set({ mode });
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
    if (changed && call.phase === 'matched' && call.mode === 'video' && this.mediaToldFor === call.callId) send(this.socket, 'media-state', { ...this.localMedia });
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
   * call ends and, with auto-search on, a new search starts. With `forCallId`
   * nothing is sent if a new match came in meanwhile.
   */
  block(forCallId?: number): boolean {
    const target = this.moderationTarget(forCallId);
    if (!target) return false;
    if (target.serverCallId) send(this.socket, 'block-partner', { callId: target.serverCallId });
    else send(this.socket, 'block-partner');
    this.afterModeration(target, t('call.blocked', { name: target.name }), t('call.blockedDetail'));
    return true;
  }

  /**
   * Report the current (or last) partner; ends the call like block. With
   * `forCallId` (the call the dialog was opened for) nothing is sent if a new
   * match came in meanwhile: the report would hit the wrong person.
   */
  report(reason: ReportReason, note = '', forCallId?: number, picture?: string): boolean {
    const target = this.moderationTarget(forCallId);
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
    const call = this.state.call;
    return call.phase === 'matched' && call.session ? call.session.replaceTrack(track) : false;
  }

  dismissToast(): void {
    this.toasts.clear();
  }

  /** Called by the page when the first remote video frame of `callId` is shown. */
  reportFirstFrame(callId: number): void {
    const call = this.state.call;
    if (call.phase === 'matched' && call.callId === callId) call.session?.firstFrame();
  }

  /** Detach from the socket, close the call, clear every timer. */
  dispose(): void {
    if (this.disposed) return;
    const call = this.state.call;
    if (call.phase === 'matched') call.session?.close();
    this.clearRetry();
    this.clearResumeWait();
    this.lastCall.dispose();
    this.chat.dispose();
    this.heartbeat.stop();
    this.toasts.dispose();
    this.detach();
    this.disposed = true;
    this.listeners.clear();
  }

  // ---- transitions --------------------------------------------------------

  /**
   * The one way the call state changes. What the old state owned and the new
   * one does not is released here: the match's CallSession, the search retry.
   */
  private enter(next: CallState): void {
    const prev = this.state.call;
    if (prev.phase === 'matched' && (next.phase !== 'matched' || next.session !== prev.session)) prev.session?.close();
    if (prev.phase === 'matched' && (next.phase !== 'matched' || next.callId !== prev.callId)) {
      this.clearResumeWait();
      this.lastCall.ended(prev.callId);
    }
    const request = prev.phase === 'searching' ? prev.unanswered : null;
    if (next.phase !== 'searching' || next.unanswered !== request) this.clearRetry();
    this.set({ call: next });
  }

  private search(action: SearchAction, notice: string | null): void {
    const request: SearchRequest = { action, options: withMode(searchPayload(this.state.interests, this.state.strict, this.state.privacy), this.state.mode) };
    this.enter(searching(request, notice));
    this.emitSearch(request);
  }

  private emitSearch({ action, options }: SearchRequest): void {
    if (options) send(this.socket, action, options);
    else send(this.socket, action);
  }

  /** After the call ended on our side or theirs: search again or wait for Start. */
  private afterCall(what: string, searchAgain: string, pressStart: string, action: SearchAction = 'find-partner'): void {
    if (this.state.autoSearch) this.search(action, `${what} ${searchAgain}`);
    else this.enter(idle(`${what} ${pressStart}`));
  }

  // ---- socket events ------------------------------------------------------

  private session(): CallSession | null {
    const call = this.state.call;
    return call.phase === 'matched' ? call.session : null; // no call: late news of one that ended
  }

  private onConnect(): void {
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
      const ticket = this.resume;
      if (ticket && ticket.callSeq === call.callId && mediaStillUp(call)) {
        this.clearResumeWait();
        send(this.socket, 'resume-call', { callId: ticket.callId, resume: ticket.resume });
        this.set({ link: 'resuming' });
        this.resumeTimer = this.timers.setTimeout(() => {
          this.resumeTimer = null;
          this.resumeFailed(t('call.partnerNotBack', { name: call.partnerName }));
        }, RESUME_TIMEOUT_MS);
      } else {
        this.resumeFailed(t('call.partnerLostToo'));
      }
    }
  }

  private onCallResumed(callId: unknown): void {
    const call = this.state.call;
    if (call.phase !== 'matched' || !this.resume || callId !== this.resume.callId) return;
    this.clearResumeWait();
    this.set({ link: 'online' });
    this.chat.system(t('call.goesOn'));
  }

  /** The server could not give us our call back: say so and move on (auto-search) or stop. */
  private resumeFailed(why: string): void {
    this.clearResumeWait();
    this.set({ link: this.state.socketConnected ? 'online' : this.state.link });
    const call = this.state.call;
    if (call.phase !== 'matched') return;
    const what = t('call.notResumed', { why });
    this.chat.endCall(what);
    this.afterCall(what, t('call.lookingNew'), t('call.pressStartNew'));
  }

  private clearResumeWait(): void {
    if (this.resumeTimer !== null) this.timers.clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
    if (this.state.link === 'resuming') this.set({ link: this.state.socketConnected ? 'online' : 'reconnecting' });
  }

  private onDisconnect(reason: string): void {
    this.heartbeat.stop();
    this.chat.connectionLost();
    this.set({ socketConnected: false });
    const call = this.state.call;
    if (call.phase === 'banned') return; // the server closes a banned user's connection: not an outage
    if (willReconnect(reason, this.socket)) {
      // The call's media flows peer to peer and a search can be sent again: keep both
      // and see what the reconnection brings (onConnect).
      this.clearResumeWait();
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

  /** connects again after a refusal with code 'unavailable' (onConnectError) */
  private unavailableTimer: unknown = null;
  private unavailableTries = 0;
  private unavailableAt = Number.NEGATIVE_INFINITY;

  private onConnectError(err: unknown): void {
    const ban = banFromConnectError(err);
    if (ban) return this.onBanned(ban);
    const message = (err as { message?: unknown } | null)?.message;
    const why = typeof message === 'string' && message ? message : t('call.serverRefused');
    if ((err as { data?: { code?: unknown } } | null)?.data?.code === 'unavailable') {
      // The server's shared state is briefly out (docs/scaling.md), not a refusal of this
      // user: keep the session and connect again. socket.io-client does not retry a
      // connection the server refused (the socket is no longer active), so connect() is
      // called here, after 1, 2, 4 … 30 s with jitter: pages refused together do not all
      // come back at once. A refusal a minute after the last one is a new outage.
      this.toasts.show('error', t('call.cannotReach', { why }), { ttlMs: 0, topic: 'connection' });
      if (this.now() - this.unavailableAt > 60_000) this.unavailableTries = 0;
      this.unavailableAt = this.now();
      const delayMs = Math.min(30_000, 1000 * 2 ** this.unavailableTries++) * (0.5 + Math.random() / 2);
      const socket = this.socket as SignalingSocket & { connect?: () => unknown };
      this.timers.clearTimeout(this.unavailableTimer);
      this.unavailableTimer = this.timers.setTimeout(() => {
        if (!this.disposed && !socket.connected) socket.connect?.();
      }, delayMs);
      return;
    }
    if (this.socket.active === false) this.deps.onRefused?.(t('call.joinAgain', { why: sentence(why) }));
    // A failed attempt to reconnect during a call: the pill already says "reconnecting".
    else if (this.state.link === 'reconnecting' && this.state.call.phase === 'matched') return;
    else this.toasts.show('error', t('call.cannotReach', { why }), { ttlMs: 0, topic: 'connection' });
  }

  private onBanned(ban: BanInfo): void {
    if (this.state.call.phase === 'matched') this.chat.endCall(null);
    this.chat.connectionLost();
    this.toasts.clear();
    this.set({ moderationTarget: null });
    this.enter(banned(ban));
  }

  private onWaiting(queuePosition: unknown): void {
    const call = this.state.call;
    if (call.phase !== 'searching') return;
    this.enter(queued(call, typeof queuePosition === 'number' ? queuePosition : null));
  }

  private onMatchFound(d: Untrusted<MatchFound>): void {
    // A match that crosses our own 'leave' is ended by the server; ignore it.
    const phase = this.state.call.phase;
    if (phase !== 'searching' && phase !== 'matched') return;
    const match = readMatch(d);
    this.resume = readResume(d, this.callSeq + 1); // the next session's id, as CallSession.id
    this.set({ partnerMedia: null });
    if (match.mode === 'text' || this.state.mode === 'text') return this.onTextMatch(match);
    let pc: RTCPeerConnection;
    try {
      pc = this.deps.createPeerConnection({ iceServers: match.iceServers, iceTransportPolicy: match.iceTransportPolicy });
    } catch (err) {
      // e.g. an ICE server URL this browser rejects: retrying would fail the same way
      this.deps.log?.('RTCPeerConnection failed', err);
      send(this.socket, 'leave');
      this.enter(idle());
      this.toasts.show('error', t('call.noCallHere', { error: String((err as Error)?.message ?? err) }), { ttlMs: 10000 });
      return;
    }
    const session = new CallSession(
      ++this.callSeq,
      match.role,
      pc,
      {
        socket: this.socket,
        timers: this.timers,
        now: this.now,
        createMediaStream: this.deps.createMediaStream,
        statsRetries: this.deps.statsRetries ?? 5,
        statsRetryDelayMs: this.deps.statsRetryDelayMs ?? 300,
        connectTimeoutMs: this.deps.connectTimeoutMs?.() ?? 0,
        dropCandidates: this.deps.dropCandidates,
        callId: this.resume?.callId,
        log: this.deps.log,
      },
      {
        onChange: (view) => {
          const call = this.state.call; // a closed session never calls: this is its state
          if (call.phase !== 'matched') return;
          this.set({ call: withPeer(call, view) });
          // the partner learns whether our camera / mic are on once media can flow
          if (view.connectionState === 'connected') this.connectedCall = call.callId;
          if (view.connectionState === 'connected' && this.mediaToldFor !== call.callId) {
            this.mediaToldFor = call.callId;
            send(this.socket, 'media-state', { ...this.localMedia });
          }
        },
        onFailed: (why) => this.onCallFailed(why),
      },
    );
    const { partnerName, commonInterests } = match;
    this.chat.startCall(
      partnerName,
      commonInterests.length ? t('call.talkingToLike', { name: partnerName, interests: commonInterests.join(', ') }) : t('call.talkingTo', { name: partnerName }),
      this.resume?.callId,
    );
    this.lastCall.started(partnerName, session.id, this.serverCallId(session.id));
    this.enter(matched(session, match));
    this.deps.onMatch?.(match.partnerName);
    void session.start(this.deps.getLocalStream());
  }

  /** Text mode: the chat is the whole call; no peer connection is made. */
  private onTextMatch(match: ReturnType<typeof readMatch>): void {
    const callId = ++this.callSeq;
    const { partnerName, commonInterests } = match;
    this.chat.startCall(
      partnerName,
      commonInterests.length ? t('call.chattingWithLike', { name: partnerName, interests: commonInterests.join(', ') }) : t('call.chattingWith', { name: partnerName }),
      this.resume?.callId,
    );
    this.lastCall.started(partnerName, callId, this.serverCallId(callId));
    this.enter(matchedText(callId, match));
  }

  private onPartnerGone(what: 'call.partnerLeft' | 'call.partnerSkipped' | 'call.partnerDisconnected' | 'call.partnerGoneConnecting'): void {
    const call = this.state.call;
    if (call.phase !== 'matched') return; // we already moved on (e.g. pressed Next too)
    // A 'next' in a video call that never connected: the partner most likely gave up on it
    // (their side failed first) and did not "skip" anyone; say what we know.
    if (what === 'call.partnerSkipped' && call.mode === 'video' && this.connectedCall !== call.callId) what = 'call.partnerGoneConnecting';
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
    if (!this.state.autoSearch) send(this.socket, 'leave');
    this.afterCall(what, t('call.findingElse'), t('call.pressStartRetry'), 'next');
  }

  /** After block/report: the server ended the call; move on like after partner-left. */
  private afterModeration(target: ModerationTarget, what: string, detail: string): void {
    const call = this.state.call;
    if (this.lastCall.done(target)) {
      // The call before the current one (the dialog was open when a new match came): the
      // server reports that call by its id and the current call goes on.
      this.toasts.show('info', `${what} ${detail}`, { ttlMs: 5000 });
      return;
    }
    if (call.phase === 'matched') {
      this.chat.endCall(what);
      this.afterCall(what, t('call.lookingNew'), `${detail} ${t('call.pressStartNew')}`);
    } else if (call.phase !== 'banned') {
      // the call had already ended: the log of that call (if still shown) says so
      this.chat.system(what);
      this.enter(withNotice(call, `${what} ${detail}`));
    }
  }

  private moderationTarget(forCallId: number | undefined): ModerationTarget | null {
    if (this.disposed || this.state.call.phase === 'banned') return null;
    return this.lastCall.pick(forCallId);
  }

  /** The server's id of call `callSeq`, from its resume ticket (match-found's callId). */
  private serverCallId(callSeq: number): string | null {
    return this.resume?.callSeq === callSeq ? this.resume.callId : null;
  }

  private onRateLimited(d: Untrusted<RateLimited>): void {
    const retryAfter = Math.max(0, Number(d?.retryAfter) || 1000);
    const message = sentence(d?.message || t('call.tooFast'));
    const timing = { ttlMs: retryAfter + 1500, retryAt: this.now() + retryAfter };
    if (d?.event === 'chat-message') {
      // the message was not relayed: mark it failed
      this.chat.refuse(d.id, t('chat.refused', { reason: message }));
      this.toasts.show('rate-limit', t('call.tryAgainIn', { message, time: formatSeconds(retryAfter) }), timing);
      return;
    }
    const call = this.state.call;
    const request = call.phase === 'searching' ? call.unanswered : null;
    if (request && request.action === d?.event) {
      this.clearRetry();
      this.toasts.show('rate-limit', t('call.retryingIn', { message, time: formatSeconds(retryAfter) }), timing);
      this.retryTimer = this.timers.setTimeout(() => {
        this.retryTimer = null;
        this.emitSearch(request); // enter() clears this timer when the request is moot
      }, retryAfter);
      return;
    }
    this.toasts.show('rate-limit', t('call.tryAgainIn', { message, time: formatSeconds(retryAfter) }), timing);
  }

  private onServerError(d: Untrusted<ServerError>): void {
    const event = d?.event;
    const message = d?.message || t('call.serverError');
    // the server answers a connection's events in order: the oldest unanswered message is the one refused
    if (event === 'chat-message' && this.chat.refuseOldest(t('chat.refused', { reason: sentence(withoutEventPrefix(message, event)) }))) return;
    if (event === 'resume-call') return this.resumeFailed(sentence(message));
    const call = this.state.call;
    if (call.phase === 'searching' && call.unanswered && call.unanswered.action === event) {
      if (d?.code === 'unavailable') {
        // The server's shared state is briefly out of reach (a Redis restart): the
        // same search again shortly, as after a rate limit.
        const request = call.unanswered; // not null: its action is this event
        const timing = { ttlMs: UNAVAILABLE_RETRY_MS + 1500, retryAt: this.now() + UNAVAILABLE_RETRY_MS };
        this.clearRetry();
        this.toasts.show('rate-limit', t('call.retryingIn', { message: t('call.briefOutage'), time: formatSeconds(UNAVAILABLE_RETRY_MS) }), timing);
        this.retryTimer = this.timers.setTimeout(() => {
          this.retryTimer = null;
          this.emitSearch(request); // enter() clears this timer when the request is moot
        }, UNAVAILABLE_RETRY_MS);
        return;
      }
      if (d?.code === 'refused') {
        // Our state on the server allows no search: we are waiting already
        // (or matched, and match-found is on its way). That is what we wanted.
        this.deps.log?.('search refused', message);
        this.enter(queued(call, call.queuePosition));
        return;
      }
      // The search itself failed (e.g. an interest the server rejects).
      // 'leave' makes sure the server agrees that we are not waiting.
      send(this.socket, 'leave');
      this.enter(idle());
    }
    this.toasts.show('error', message, { ttlMs: 6000 });
  }

  // ---- helpers ----------------------------------------------------------

  private clearRetry(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private set(patch: Partial<RoomState>): void {
    if (this.disposed) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state);
  }
}

/** "chat-message: no partner" -> "no partner": the event is known from `event`. */
function withoutEventPrefix(message: string, event: string | undefined): string {
  return event && message.startsWith(`${event}: `) ? message.slice(event.length + 2) : message;
}
