// The call state machine: searching, matching, WebRTC negotiation over the
// '/random-chat' socket, and tear-down. Plain TypeScript with injected
// dependencies (socket, RTCPeerConnection factory, clock, timers) so that it
// can be unit-tested with fakes; the React page only renders its state.

import { CHAT_RATE_LIMIT_MESSAGE, ChatController, type ChatState } from './chat';
import { searchPayload } from './interests';
import { banFromConnectError, parseBan } from './moderation';
import type {
  BanInfo,
  CallFailed,
  CallStats,
  HeartbeatAck,
  MatchFound,
  PartnerLeft,
  Quality,
  RateLimited,
  ReportAck,
  ReportReason,
  Role,
  SearchOptions,
  ServerError,
  SignalingSocket,
  WaitingForPartner,
} from './protocol';
import { selectedPairInfo } from './stats';

export type Phase = 'idle' | 'searching' | 'connected';

export interface Toast {
  id: number;
  kind: 'error' | 'rate-limit' | 'info';
  message: string;
  /** for rate limits: epoch ms at which the client retries / may retry */
  retryAt?: number;
}

export interface CallState {
  phase: Phase;
  socketConnected: boolean;
  queuePosition: number | null;
  partnerName: string | null;
  role: Role | null;
  /** increases with every match; identifies the current call */
  callId: number;
  remoteStream: MediaStream | null;
  connectionState: RTCPeerConnectionState | null;
  iceConnectionState: RTCIceConnectionState | null;
  quality: Quality | null;
  /** socket round trip from heartbeat/heartbeat-ack, ms */
  latencyMs: number | null;
  autoSearch: boolean;
  /** a sentence about what just happened ("Stranger left. Looking for someone new…") */
  notice: string | null;
  toast: Toast | null;
  /** normalised tags sent with find-partner / next (see interests.ts) */
  interests: string[];
  /** only people who share an interest (never widen to anyone) */
  strict: boolean;
  /** ask for relay-only calls ("Hide my IP"), sent as `privacy: true` */
  privacy: boolean;
  /** the current call's iceTransportPolicy, from match-found */
  iceTransportPolicy: RTCIceTransportPolicy | null;
  /** interests shared with the current partner */
  commonInterests: string[];
  /** the partner Report / Block apply to: the current one, or the last one until the next match */
  moderationTarget: string | null;
  /** the text chat of the current (or just ended) call */
  chat: ChatState;
  /** set when the server banned this user: no searching until it is over */
  banned: BanInfo | null;
}

export type PeerFactory = (config: RTCConfiguration) => RTCPeerConnection;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface CallDeps {
  socket: SignalingSocket;
  createPeerConnection: PeerFactory;
  /** the current local camera/mic stream, or null (receive-only) */
  getLocalStream: () => MediaStream | null;
  /** builds a MediaStream for tracks that arrive without one */
  createMediaStream?: () => MediaStream;
  now?: () => number;
  timers?: Timers;
  heartbeatIntervalMs?: number;
  /** retries of getStats() while the selected pair is not known yet */
  statsRetries?: number;
  statsRetryDelayMs?: number;
  /** chat options (typing throttle etc.), mostly for tests */
  chat?: { typingThrottleMs?: number; typingIdleMs?: number; partnerTypingTimeoutMs?: number; ackTimeoutMs?: number };
  log?: (...args: unknown[]) => void;
}

type SearchAction = 'find-partner' | 'next';

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (h) => globalThis.clearInterval(h as ReturnType<typeof setInterval>),
};

export class CallController {
  private state: CallState;
  private listeners = new Set<(s: CallState) => void>();
  private readonly socket: SignalingSocket;
  private readonly deps: CallDeps;
  private readonly now: () => number;
  private readonly timers: Timers;

  private pc: RTCPeerConnection | null = null;
  private remoteDescriptionSet = false;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private matchFoundAt = 0;
  private statsSentFor = -1;
  private lastSearchAction: SearchAction | null = null;
  private lastSearchPayload: SearchOptions | undefined = undefined;
  private readonly chat: ChatController;
  /** callId of the call that moderationTarget refers to */
  private moderationCallId = 0;
  private retryTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private toastTimer: unknown = null;
  private toastSeq = 0;
  private disposed = false;
  private readonly handlers: Array<[string, (...args: any[]) => void]>;

  constructor(deps: CallDeps) {
    this.deps = deps;
    this.socket = deps.socket;
    this.now = deps.now ?? (() => Date.now());
    this.timers = deps.timers ?? defaultTimers;
    this.state = {
      phase: 'idle',
      socketConnected: deps.socket.connected,
      queuePosition: null,
      partnerName: null,
      role: null,
      callId: 0,
      remoteStream: null,
      connectionState: null,
      iceConnectionState: null,
      quality: null,
      latencyMs: null,
      autoSearch: true,
      notice: null,
      toast: null,
      interests: [],
      strict: false,
      privacy: false,
      iceTransportPolicy: null,
      commonInterests: [],
      moderationTarget: null,
      chat: { lines: [], open: false, partnerName: null, partnerTyping: false },
      banned: null,
    };
    this.chat = new ChatController({
      socket: deps.socket,
      timers: this.timers,
      now: this.now,
      onChange: (chat) => this.set({ chat }),
      ...deps.chat,
    });
    this.state.chat = this.chat.getState();
    this.handlers = [
      ['connect', () => this.onConnect()],
      ['disconnect', (reason: string) => this.onDisconnect(reason)],
      ['connection-quality', (d: { quality?: Quality }) => d?.quality && this.set({ quality: d.quality })],
      ['waiting-for-partner', (d: WaitingForPartner) => this.onWaiting(d)],
      ['match-found', (d: MatchFound) => void this.onMatchFound(d)],
      ['signal-offer', (d: { offer: RTCSessionDescriptionInit }) => void this.onOffer(d)],
      ['signal-answer', (d: { answer: RTCSessionDescriptionInit }) => void this.onAnswer(d)],
      ['signal-ice-candidate', (d: { candidate: RTCIceCandidateInit }) => this.onRemoteCandidates(d?.candidate ? [d.candidate] : [])],
      ['signal-ice-candidates-batch', (d: { candidates: RTCIceCandidateInit[] }) => this.onRemoteCandidates(Array.isArray(d?.candidates) ? d.candidates : [])],
      ['partner-left', (d: PartnerLeft) => this.onPartnerGone(d?.reason === 'leave' ? 'left the chat.' : 'skipped to someone new.')],
      ['partner-disconnected', () => this.onPartnerGone('disconnected.')],
      ['rate-limited', (d: RateLimited) => this.onRateLimited(d)],
      ['error', (d: ServerError) => this.onServerError(d)],
      ['heartbeat-ack', (d: HeartbeatAck) => this.onHeartbeatAck(d)],
      ['banned', (d: BanInfo) => this.onBanned(parseBan(d) ?? { until: Number.NaN, reason: 'No reason given' })],
      ['connect_error', (err: unknown) => {
        const ban = banFromConnectError(err);
        if (ban) this.onBanned(ban);
      }],
      ['report-partner-ack', (d: ReportAck) => this.onReportAck(d)],
      ['block-partner-ack', () => this.deps.log?.('block acknowledged')],
    ];
    for (const [ev, fn] of this.handlers) this.socket.on(ev, fn);
    if (this.socket.connected) this.startHeartbeat();
  }

  // ---- public API -------------------------------------------------------

  getState(): CallState {
    return this.state;
  }

  subscribe(listener: (s: CallState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Start searching for a partner (no-op unless idle). */
  start(): void {
    if (this.disposed || this.state.banned || this.state.phase !== 'idle') return;
    this.search('find-partner', null);
  }

  /** End the current call (if any) and search again at once. */
  next(): void {
    if (this.disposed || this.state.banned) return;
    if (this.state.phase === 'idle') return this.start();
    if (this.state.phase === 'searching') return; // already searching
    this.closePeer();
    this.chat.endCall('You moved on.');
    this.search('next', null);
  }

  /** End the call or stop waiting. */
  stop(): void {
    if (this.disposed) return;
    this.clearRetry();
    const wasActive = this.state.phase !== 'idle';
    if (this.state.phase === 'connected') this.chat.endCall('You left the chat.');
    this.closePeer();
    if (wasActive) this.socket.emit('leave');
    this.lastSearchAction = null;
    this.set({ phase: 'idle', queuePosition: null, partnerName: null, role: null, notice: null });
  }

  setAutoSearch(on: boolean): void {
    this.set({ autoSearch: on });
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

  /** Send a chat message to the partner; false (with a reason) when it cannot go. */
  sendChat(text: string): { ok: true } | { ok: false; error: string } {
    if (this.disposed) return { ok: false, error: 'Closed.' };
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
   * call ends and, with auto-search on, a new search starts.
   */
  block(forCallId?: number): boolean {
    const target = this.state.moderationTarget;
    if (this.disposed || this.state.banned || !target) return false;
    if (forCallId !== undefined && forCallId !== this.moderationCallId) return false; // someone else by now
    this.socket.emit('block-partner');
    this.afterModeration(`You blocked ${target}.`, 'You will not be paired again.');
    return true;
  }

  /**
   * Report the current (or last) partner; ends the call like block. With
   * `forCallId` (the callId when the dialog opened) nothing is sent if a new
   * match came in meanwhile: the report would hit the wrong person.
   */
  report(reason: ReportReason, note = '', forCallId?: number): boolean {
    const target = this.state.moderationTarget;
    if (this.disposed || this.state.banned || !target) return false;
    if (forCallId !== undefined && forCallId !== this.moderationCallId) return false;
    const trimmed = note.trim();
    this.socket.emit('report-partner', trimmed ? { reason, note: trimmed } : { reason });
    this.afterModeration(`You reported ${target}.`, 'Thank you: a moderator will look at it.');
    return true;
  }

  dismissToast(): void {
    this.clearToastTimer();
    this.set({ toast: null });
  }

  /** Called by the page when the first remote video frame of `callId` is shown. */
  reportFirstFrame(callId: number): void {
    if (this.disposed || callId !== this.state.callId || this.statsSentFor === callId || !this.pc) return;
    this.statsSentFor = callId;
    const timeToMediaMs = Math.max(0, Math.round(this.now() - this.matchFoundAt));
    void this.sendCallStats(this.pc, callId, timeToMediaMs, this.deps.statsRetries ?? 5);
  }

  /** Detach from the socket, close the peer connection, clear timers. */
  dispose(): void {
    if (this.disposed) return;
    this.chat.dispose();
    this.closePeer();
    this.clearRetry();
    this.stopHeartbeat();
    this.clearToastTimer();
    for (const [ev, fn] of this.handlers) this.socket.off(ev, fn);
    this.disposed = true;
    this.listeners.clear();
  }

  // ---- socket events ----------------------------------------------------

  private onConnect(): void {
    this.set({ socketConnected: true });
    if (this.state.toast?.message.startsWith('Lost connection')) this.set({ toast: null });
    this.startHeartbeat();
  }

  private onDisconnect(reason: string): void {
    this.stopHeartbeat();
    this.clearRetry();
    this.chat.connectionLost();
    if (this.state.phase === 'connected') this.chat.endCall('The connection to the server was lost.');
    this.closePeer();
    const active = this.state.phase !== 'idle';
    this.lastSearchAction = null;
    if (this.state.banned) {
      // the server closes a banned user's connection: that is not an outage
      this.set({ socketConnected: false, phase: 'idle', queuePosition: null, partnerName: null, role: null });
      return;
    }
    this.set({ socketConnected: false, phase: 'idle', queuePosition: null, partnerName: null, role: null, notice: active ? 'The call ended because the connection to the server was lost.' : this.state.notice });
    if (reason === 'io server disconnect') this.showToast('error', 'The server closed the connection. Reload the page to try again.', 0);
    else if (reason !== 'io client disconnect') this.showToast('error', 'Lost connection to the server. Reconnecting…', 0);
  }

  private onBanned(ban: BanInfo): void {
    this.clearRetry();
    if (this.state.phase === 'connected') this.chat.endCall(null);
    this.chat.connectionLost();
    this.closePeer();
    this.lastSearchAction = null;
    this.clearToastTimer();
    this.set({ banned: ban, phase: 'idle', queuePosition: null, partnerName: null, role: null, moderationTarget: null, notice: null, toast: null });
  }

  private onReportAck(d: ReportAck): void {
    this.deps.log?.('report acknowledged', d?.reportId);
    this.showToast('info', 'Report sent. Thank you.', 5000);
  }

  private onWaiting(d: WaitingForPartner): void {
    if (this.state.phase !== 'searching') return;
    this.lastSearchAction = null;
    this.set({ queuePosition: typeof d?.queuePosition === 'number' ? d.queuePosition : null });
  }

  private async onMatchFound(d: MatchFound): Promise<void> {
    // A match that crosses our own 'leave' is ended by the server; ignore it.
    if (this.state.phase === 'idle') return;
    this.clearRetry();
    this.lastSearchAction = null;
    this.closePeer();
    this.matchFoundAt = this.now();
    const callId = this.state.callId + 1;
    const role: Role = d?.role === 'initiator' ? 'initiator' : 'receiver';
    const iceServers = Array.isArray(d?.iceServers) ? d.iceServers : [];
    // As the server says: a relay-only call gathers and uses TURN candidates only.
    const iceTransportPolicy: RTCIceTransportPolicy = d?.iceTransportPolicy === 'relay' ? 'relay' : 'all';
    let pc: RTCPeerConnection;
    try {
      pc = this.deps.createPeerConnection({ iceServers, iceTransportPolicy });
    } catch (err) {
      // e.g. an ICE server URL this browser rejects: retrying would fail the same way
      this.deps.log?.('RTCPeerConnection failed', err);
      this.socket.emit('leave');
      this.set({ phase: 'idle', partnerName: null, role: null, queuePosition: null, notice: null });
      this.showToast('error', `Could not start a call in this browser: ${(err as Error)?.message ?? err}`, 10000);
      return;
    }
    this.pc = pc;
    this.remoteDescriptionSet = false;
    this.pendingCandidates = [];
    this.moderationCallId = callId;
    const partnerName = d?.partnerName || 'Stranger';
    const commonInterests = Array.isArray(d?.commonInterests) ? d.commonInterests.filter((x) => typeof x === 'string') : [];
    this.chat.startCall(
      partnerName,
      commonInterests.length ? `You are talking to ${partnerName}. You both like ${commonInterests.join(', ')}.` : `You are talking to ${partnerName}. Say hi!`,
    );
    this.set({
      phase: 'connected',
      callId,
      role,
      partnerName,
      commonInterests,
      moderationTarget: partnerName,
      iceTransportPolicy,
      queuePosition: null,
      notice: null,
      remoteStream: null,
      connectionState: pc.connectionState ?? 'new',
      iceConnectionState: pc.iceConnectionState ?? 'new',
    });

    pc.onicecandidate = (ev) => {
      if (this.pc !== pc || !ev.candidate) return;
      const c = ev.candidate as RTCIceCandidate & { toJSON?: () => RTCIceCandidateInit };
      const candidate = typeof c.toJSON === 'function' ? c.toJSON() : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
      this.socket.emit('signal-ice-candidate', { candidate });
    };
    pc.ontrack = (ev) => {
      if (this.pc !== pc) return;
      let stream = ev.streams?.[0] ?? this.state.remoteStream;
      if (!stream) {
        stream = this.deps.createMediaStream ? this.deps.createMediaStream() : new MediaStream();
      }
      if (!stream.getTracks().includes(ev.track)) stream.addTrack(ev.track);
      this.set({ remoteStream: stream });
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.set({ connectionState: pc.connectionState });
      if (pc.connectionState === 'failed') this.onPeerFailed();
    };
    pc.oniceconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.set({ iceConnectionState: pc.iceConnectionState });
    };

    const local = this.deps.getLocalStream();
    const kinds = new Set<string>();
    if (local) {
      for (const track of local.getTracks()) {
        if (track.readyState === 'ended') continue;
        pc.addTrack(track, local);
        kinds.add(track.kind);
      }
    }

    if (role !== 'initiator') return; // the receiver waits for the offer
    try {
      // Without a camera/mic we still want to receive the partner's media.
      for (const kind of ['audio', 'video']) {
        if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: 'recvonly' });
      }
      const offer = await pc.createOffer();
      if (this.pc !== pc) return;
      await pc.setLocalDescription(offer);
      if (this.pc !== pc) return;
      const desc = pc.localDescription ?? offer;
      this.socket.emit('signal-offer', { offer: { type: desc.type, sdp: desc.sdp } });
    } catch (err) {
      if (this.pc === pc) this.onNegotiationError(err);
    }
  }

  private async onOffer(d: { offer: RTCSessionDescriptionInit }): Promise<void> {
    const pc = this.pc;
    if (!pc || !d?.offer) return; // stale offer for a call we already left
    try {
      await pc.setRemoteDescription(d.offer);
      if (this.pc !== pc) return;
      this.remoteDescriptionSet = true;
      await this.flushCandidates(pc);
      if (this.pc !== pc) return;
      const answer = await pc.createAnswer();
      if (this.pc !== pc) return;
      await pc.setLocalDescription(answer);
      if (this.pc !== pc) return;
      const desc = pc.localDescription ?? answer;
      this.socket.emit('signal-answer', { answer: { type: desc.type, sdp: desc.sdp } });
    } catch (err) {
      if (this.pc === pc) this.onNegotiationError(err);
    }
  }

  private async onAnswer(d: { answer: RTCSessionDescriptionInit }): Promise<void> {
    const pc = this.pc;
    if (!pc || !d?.answer) return;
    if (pc.signalingState !== 'have-local-offer') return; // duplicate or stale answer
    try {
      await pc.setRemoteDescription(d.answer);
      if (this.pc !== pc) return;
      this.remoteDescriptionSet = true;
      await this.flushCandidates(pc);
    } catch (err) {
      if (this.pc === pc) this.onNegotiationError(err);
    }
  }

  private onRemoteCandidates(candidates: RTCIceCandidateInit[]): void {
    const pc = this.pc;
    if (!pc) return; // no call: candidates of a call that ended
    const valid = candidates.filter((c) => c && typeof c === 'object');
    if (!this.remoteDescriptionSet) {
      // Trickled candidates may overtake the offer/answer: keep them.
      this.pendingCandidates.push(...valid);
      return;
    }
    for (const c of valid) this.addCandidate(pc, c);
  }

  private onPartnerGone(what: string): void {
    if (this.state.phase !== 'connected') return; // we already moved on (e.g. pressed Next too)
    this.chat.endCall(`${this.state.partnerName ?? 'Stranger'} ${what}`);
    const message = `Stranger ${what}`;
    this.closePeer();
    this.set({ phase: 'idle', partnerName: null, role: null, queuePosition: null });
    if (this.state.autoSearch) {
      this.set({ notice: `${message} Looking for someone new…` });
      this.search('find-partner', this.state.notice);
    } else {
      this.set({ notice: `${message} Press Start to meet someone new.` });
    }
  }

  private onRateLimited(d: RateLimited): void {
    const retryAfter = Math.max(0, Number(d?.retryAfter) || 1000);
    const base = d?.message || 'You are going too fast.';
    const action = this.lastSearchAction;
    const aboutChat = d?.message === CHAT_RATE_LIMIT_MESSAGE || (!action && this.chat.hasPending());
    if (aboutChat) {
      // the message was not relayed: mark it failed
      this.chat.refuseOldest(`Not sent: ${base}.`);
      this.showToast('rate-limit', `${base}. Try again in ${formatSeconds(retryAfter)}.`, retryAfter + 1500, this.now() + retryAfter);
      return;
    }
    if (this.state.phase === 'searching' && action) {
      this.clearRetry();
      this.showToast('rate-limit', `${base} Retrying in ${formatSeconds(retryAfter)}.`, retryAfter + 1500, this.now() + retryAfter);
      this.retryTimer = this.timers.setTimeout(() => {
        this.retryTimer = null;
        if (this.disposed || this.state.phase !== 'searching' || this.lastSearchAction !== action) return;
        this.emitSearch(action);
      }, retryAfter);
    } else {
      this.showToast('rate-limit', `${base} Try again in ${formatSeconds(retryAfter)}.`, retryAfter + 1500, this.now() + retryAfter);
    }
  }

  private onServerError(d: ServerError): void {
    const message = d?.message || 'Something went wrong on the server.';
    if (message === 'Already in queue' && this.state.phase === 'searching') {
      this.lastSearchAction = null; // we are waiting: that is what we wanted
      return;
    }
    if (d?.event === 'chat-message' || message.startsWith('chat-message:')) {
      if (this.chat.refuseOldest(`Not sent: ${message.replace(/^chat-message: /, '')}.`)) return;
    }
    if ((d?.event === 'find-partner' || d?.event === 'next') && this.state.phase === 'searching' && this.lastSearchAction === d.event) {
      // the search itself was refused (e.g. an interest the server rejects)
      this.lastSearchAction = null;
      this.set({ phase: 'idle', queuePosition: null, notice: null });
    }
    this.showToast('error', message, 6000);
  }

  private onHeartbeatAck(d: HeartbeatAck): void {
    if (typeof d?.sentAt === 'number') this.set({ latencyMs: Math.max(0, this.now() - d.sentAt) });
  }

  // ---- helpers ----------------------------------------------------------

  private search(action: SearchAction, notice: string | null): void {
    this.clearRetry();
    this.lastSearchAction = action;
    this.lastSearchPayload = searchPayload(this.state.interests, this.state.strict, this.state.privacy);
    this.set({ phase: 'searching', queuePosition: null, partnerName: null, role: null, notice });
    this.emitSearch(action);
  }

  private emitSearch(action: SearchAction): void {
    if (this.lastSearchPayload) this.socket.emit(action, this.lastSearchPayload);
    else this.socket.emit(action);
  }

  /** After block/report: the server ended the call; move on like after partner-left. */
  private afterModeration(what: string, detail: string): void {
    this.set({ moderationTarget: null });
    if (this.state.phase !== 'connected') {
      // the call had already ended: the log of that call (if still shown) says so
      this.chat.system(what);
      this.set({ notice: `${what} ${detail}` });
      return;
    }
    this.closePeer();
    this.chat.endCall(what);
    this.set({ phase: 'idle', partnerName: null, role: null, queuePosition: null, commonInterests: [] });
    if (this.state.autoSearch) this.search('find-partner', `${what} Looking for someone new…`);
    else this.set({ notice: `${what} ${detail} Press Start to meet someone new.` });
  }

  private onPeerFailed(): void {
    if (this.statsSentFor !== this.state.callId) {
      // field telemetry: this call never carried media (or stopped for good)
      this.statsSentFor = this.state.callId;
      const failed: CallFailed = { outcome: 'failed' };
      this.socket.emit('call-stats', failed);
    }
    this.chat.endCall('The connection to your partner failed.');
    this.closePeer();
    this.showToast('error', 'The connection to your partner failed.', 6000);
    if (this.state.autoSearch) {
      // 'next' ends the call on the server and searches again at once.
      this.search('next', 'Connection failed. Looking for someone new…');
    } else {
      this.socket.emit('leave');
      this.set({ phase: 'idle', partnerName: null, role: null, notice: 'Connection failed. Press Start to try again.' });
    }
  }

  private onNegotiationError(err: unknown): void {
    this.deps.log?.('negotiation error', err);
    this.onPeerFailed();
  }

  private async flushCandidates(pc: RTCPeerConnection): Promise<void> {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of queued) {
      if (this.pc !== pc) return;
      await this.addCandidate(pc, c);
    }
  }

  private async addCandidate(pc: RTCPeerConnection, c: RTCIceCandidateInit): Promise<void> {
    try {
      await pc.addIceCandidate(c);
    } catch (err) {
      // A bad candidate must not end the call; others may still work.
      this.deps.log?.('addIceCandidate failed', err);
    }
  }

  /** Close the current RTCPeerConnection, detach its handlers, release the remote stream. */
  private closePeer(): void {
    const pc = this.pc;
    const remote = this.state.remoteStream;
    this.pc = null;
    this.remoteDescriptionSet = false;
    this.pendingCandidates = [];
    if (pc) {
      pc.onicecandidate = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.oniceconnectionstatechange = null;
      pc.onnegotiationneeded = null;
      pc.onsignalingstatechange = null;
      pc.onicegatheringstatechange = null;
      pc.ondatachannel = null;
      try {
        pc.close();
      } catch {
        /* already closed */
      }
    }
    if (remote) remote.getTracks().forEach((t) => t.stop());
    if (pc || remote) this.set({ remoteStream: null, connectionState: null, iceConnectionState: null });
  }

  private async sendCallStats(pc: RTCPeerConnection, callId: number, timeToMediaMs: number, retriesLeft: number): Promise<void> {
    try {
      const report = await pc.getStats();
      if (this.pc !== pc || this.state.callId !== callId) return;
      const info = selectedPairInfo(report);
      if (info) {
        const stats: CallStats = { timeToMediaMs, candidateType: info.candidateType, rttMs: info.rttMs };
        this.socket.emit('call-stats', stats);
        return;
      }
    } catch (err) {
      this.deps.log?.('getStats failed', err);
    }
    if (retriesLeft > 0) {
      this.timers.setTimeout(() => {
        if (this.pc === pc) void this.sendCallStats(pc, callId, timeToMediaMs, retriesLeft - 1);
      }, this.deps.statsRetryDelayMs ?? 300);
    }
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeatTimer = this.timers.setInterval(() => {
      if (this.socket.connected) this.socket.emit('heartbeat', { sentAt: this.now() });
    }, this.deps.heartbeatIntervalMs ?? 5000);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) this.timers.clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearToastTimer(): void {
    if (this.toastTimer !== null) this.timers.clearTimeout(this.toastTimer);
    this.toastTimer = null;
  }

  private showToast(kind: Toast['kind'], message: string, ttlMs: number, retryAt?: number): void {
    this.clearToastTimer();
    const toast: Toast = { id: ++this.toastSeq, kind, message, ...(retryAt !== undefined ? { retryAt } : {}) };
    this.set({ toast });
    if (ttlMs > 0) {
      this.toastTimer = this.timers.setTimeout(() => {
        this.toastTimer = null;
        if (this.state.toast?.id === toast.id) this.set({ toast: null });
      }, ttlMs);
    }
  }

  private set(patch: Partial<CallState>): void {
    if (this.disposed) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state);
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}
