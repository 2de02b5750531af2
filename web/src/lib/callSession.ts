// One match's WebRTC call: the RTCPeerConnection, the remote candidates that
// arrive before the remote description, the call-stats report and its timer.
//
// Theory of operation. The server decides the roles (the searcher is the
// initiator and offers, the other answers), so there is no glare to resolve;
// what the page must survive is the call ending at any moment: Next, Stop,
// the partner leaving, a ban, a lost socket, while createOffer or
// setRemoteDescription is still pending. The controller closes the session on
// every way out of the call (CallCore.enter), and close() is final:
// the handlers come off the connection, the connection and the remote tracks
// are stopped, the timer is cleared and `closed` is set. Every await of an
// entry point goes through step(), which throws the private CLOSED sentinel
// when the session closed meanwhile; run() catches it once per entry point and
// stops quietly, so a closed session never calls its owner again. Remote
// candidates are queued until the remote description is applied (they can
// overtake the offer on the wire) and then added in order; a candidate the browser refuses is logged,
// not fatal. The browser's own signalingState says whether an answer is
// expected.
//
// Honest connection states. A call that carries no media within
// `connectTimeoutMs` of match-found is given up ('timeout': the page says it
// could not connect and moves on). A call that did connect and then loses its
// path is not given up at once: after `disconnectGraceMs` in 'disconnected',
// or at once on 'failed', the initiator restarts ICE (restartIce and a new
// offer with iceRestart through the same signaling; the receiver answers it as
// any offer), at most `MAX_ICE_RESTARTS` times; only then does the call fail.
// While media flows, getStats() is read every `qualityIntervalMs` and the
// round trip and packet loss make the quality badge (stats.ts judgeMedia).

import { judgeMedia, mediaSample, relayedBothWays, selectedPairInfo, type MediaQuality, type MediaSample } from './stats';
import { send, type CallFailed, type CallStats, type Role, type SignalingSocket } from './protocol';
import type { Timers } from './timers';

/** What the page shows of the connection. */
export interface PeerView {
  remoteStream: MediaStream | null;
  connectionState: RTCPeerConnectionState;
  iceConnectionState: RTCIceConnectionState;
  /** from getStats() while media flows; null before the first reading */
  mediaQuality?: MediaQuality | null;
  /** an ICE restart is under way */
  restarting?: boolean;
  /** the selected pair is relay on both sides (getStats(), stats.ts relayedBothWays); null before a reading */
  relayed?: boolean | null;
}

/** Why a call ended without media: ICE failed (or negotiation threw), or nothing came in time. */
export type FailReason = 'failed' | 'timeout';

export const MAX_ICE_RESTARTS = 2;

export interface CallSessionDeps {
  socket: SignalingSocket;
  timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  now: () => number;
  /** builds a MediaStream for tracks that arrive without one */
  createMediaStream?: () => MediaStream;
  /** retries of getStats() while the selected pair is not known yet */
  statsRetries: number;
  statsRetryDelayMs: number;
  /** give up a call that carries no media this long after match-found (0: never) */
  connectTimeoutMs?: number;
  /** how long 'disconnected' may last before an ICE restart */
  disconnectGraceMs?: number;
  /** getStats() period for the quality badge while connected (0: off) */
  qualityIntervalMs?: number;
  /** the server's id of this call (match-found's callId): sent with every signal, so one
   *  that arrives after the server moved us to another call is dropped, never relayed there */
  callId?: string | null;
  /** test only: send no candidates and ignore the partner's, so ICE cannot succeed */
  dropCandidates?: boolean;
  log?: (...args: unknown[]) => void;
}

export interface CallSessionOwner {
  /** the remote stream or a connection state changed */
  onChange(view: PeerView): void;
  /** ICE failed for good, negotiation threw, or no media in time: this call is over */
  onFailed(why: FailReason): void;
}

/** Thrown by CallSession.step when the session closed during an await; caught only by CallSession.run. */
const CLOSED: unique symbol = Symbol('closed');

export class CallSession {
  private isClosed = false;
  /** remote candidates waiting for the remote description; null once it is applied */
  private queued: RTCIceCandidateInit[] | null = [];
  /** call-stats is sent once per call: the first frame's figures or the failure */
  private statsSent = false;
  private statsTimer: unknown = null;
  private connectTimer: unknown = null;
  private disconnectTimer: unknown = null;
  private qualityTimer: unknown = null;
  private lastSample: MediaSample | null = null;
  private everConnected = false;
  private restarts = 0;
  private view: PeerView;
  /** when match-found arrived (time to media is counted from here) */
  readonly startedAt: number;

  constructor(
    /** identifies the call on the page (increases with every match) */
    readonly id: number,
    readonly role: Role,
    private readonly pc: RTCPeerConnection,
    private readonly deps: CallSessionDeps,
    private readonly owner: CallSessionOwner,
  ) {
    this.startedAt = deps.now();
    this.view = { remoteStream: null, connectionState: pc.connectionState ?? 'new', iceConnectionState: pc.iceConnectionState ?? 'new' };
    pc.onicecandidate = (ev) => this.onLocalCandidate(ev.candidate);
    pc.ontrack = (ev) => this.onTrack(ev);
    pc.onconnectionstatechange = () => this.onConnectionState(pc.connectionState);
    pc.oniceconnectionstatechange = () => this.update({ iceConnectionState: pc.iceConnectionState });
    const timeout = deps.connectTimeoutMs ?? 0;
    if (timeout > 0) {
      this.connectTimer = deps.timers.setTimeout(() => {
        this.connectTimer = null;
        if (!this.everConnected) this.fail('no media in time', undefined, 'timeout');
      }, timeout);
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  getView(): PeerView {
    return this.view;
  }

  /** Send our camera and microphone; the initiator then makes the offer. */
  async start(local: MediaStream | null): Promise<void> {
    const kinds = new Set<string>();
    for (const track of local?.getTracks() ?? []) {
      if (track.readyState === 'ended') continue;
      this.pc.addTrack(track, local!);
      kinds.add(track.kind);
    }
    if (this.role !== 'initiator') return; // the receiver waits for the offer
    await this.run(async () => {
      // Without a camera/mic we still want to receive the partner's media.
      for (const kind of ['audio', 'video']) {
        if (!kinds.has(kind)) this.pc.addTransceiver(kind, { direction: 'recvonly' });
      }
      await this.offer(false);
    }, (err) => this.fail('negotiation', err));
  }

  /** The partner's offer (we are the receiver): apply it and answer. */
  async acceptOffer(offer: RTCSessionDescriptionInit): Promise<void> {
    if (this.isClosed) return;
    await this.run(async () => {
      await this.step(this.pc.setRemoteDescription(offer));
      await this.addQueuedCandidates();
      const answer = await this.step(this.pc.createAnswer());
      await this.step(this.pc.setLocalDescription(answer));
      this.sendDescription('signal-answer', this.pc.localDescription ?? answer);
    }, (err) => this.fail('negotiation', err));
  }

  /** The partner's answer to our offer. */
  async acceptAnswer(answer: RTCSessionDescriptionInit): Promise<void> {
    if (this.isClosed || this.pc.signalingState !== 'have-local-offer') return; // duplicate or stale answer
    await this.run(async () => {
      await this.step(this.pc.setRemoteDescription(answer));
      await this.addQueuedCandidates();
    }, (err) => this.fail('negotiation', err));
  }

  /** Trickled candidates from the partner; kept until the remote description is applied. */
  addRemoteCandidates(candidates: RTCIceCandidateInit[]): void {
    if (this.isClosed || this.deps.dropCandidates) return;
    const valid = candidates.filter((c) => c && typeof c === 'object');
    if (this.queued) this.queued.push(...valid);
    else for (const c of valid) void this.addCandidate(c);
  }

  /** The page showed the first remote frame: report how the call connected, once. */
  firstFrame(): void {
    this.clearTimer('connectTimer');
    if (this.isClosed || this.statsSent) return;
    this.statsSent = true;
    const timeToMediaMs = Math.max(0, Math.round(this.deps.now() - this.startedAt));
    void this.sendStats(timeToMediaMs, this.deps.statsRetries);
  }

  /** End the call for good. Idempotent; nothing of this session runs afterwards. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queued = null;
    for (const timer of ['statsTimer', 'connectTimer', 'disconnectTimer', 'qualityTimer'] as const) this.clearTimer(timer);
    const pc = this.pc;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    try {
      pc.close();
    } catch {
      /* already closed */
    }
    this.view.remoteStream?.getTracks().forEach((t) => t.stop());
  }

  /** Put another camera (or microphone) into the live call; false when nothing sends that kind. */
  async replaceTrack(track: MediaStreamTrack): Promise<boolean> {
    if (this.isClosed) return false;
    const senders = typeof this.pc.getSenders === 'function' ? this.pc.getSenders() : [];
    const sender = senders.find((s) => s.track?.kind === track.kind);
    if (!sender) return false;
    await sender.replaceTrack(track);
    return true;
  }

  // ---- inside ----------------------------------------------------------------

  private onConnectionState(state: RTCPeerConnectionState): void {
    if (this.isClosed) return;
    if (state === 'connected') {
      this.everConnected = true;
      this.clearTimer('connectTimer');
      this.clearTimer('disconnectTimer');
      this.update({ connectionState: state, restarting: false });
      if (this.qualityTimer === null) this.scheduleQuality(1000); // a first reading soon
      return;
    }
    this.update({ connectionState: state });
    if (!this.everConnected) {
      if (state === 'failed') this.fail('ICE failed');
      return;
    }
    // A call that had media lost its path: let ICE try briefly, then restart it.
    if (state === 'disconnected' && this.disconnectTimer === null) {
      this.disconnectTimer = this.deps.timers.setTimeout(() => {
        this.disconnectTimer = null;
        if (this.pc.connectionState === 'disconnected') this.restartIce();
      }, this.deps.disconnectGraceMs ?? 3000);
    } else if (state === 'failed') {
      this.clearTimer('disconnectTimer');
      if (this.restarts < MAX_ICE_RESTARTS) this.restartIce();
      else this.fail('ICE failed after restarts');
    }
  }

  /** A new ICE negotiation on the same connection; the initiator offers, as at the start. */
  private restartIce(): void {
    if (this.isClosed) return;
    this.restarts += 1;
    this.update({ restarting: true, mediaQuality: 'poor' });
    if (this.role !== 'initiator') return; // the receiver answers the initiator's restart offer
    this.deps.log?.('ICE restart', this.restarts);
    void this.run(async () => {
      this.pc.restartIce?.();
      await this.offer(true);
    }, (err) => this.fail('ICE restart', err));
  }

  /** Make and send an offer (the initiator's, at the start and for an ICE restart). */
  private async offer(iceRestart: boolean): Promise<void> {
    const offer = await this.step(this.pc.createOffer(iceRestart ? { iceRestart } : undefined));
    await this.step(this.pc.setLocalDescription(offer));
    this.sendDescription('signal-offer', this.pc.localDescription ?? offer);
  }

  // ---- awaiting on a session that may close meanwhile -------------------------

  /** Await `pending`; if the session closed meanwhile (or closing made it reject), stop the entry point. */
  private async step<T>(pending: Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await pending;
    } catch (err) {
      throw this.isClosed ? CLOSED : err;
    }
    if (this.isClosed) throw CLOSED;
    return value;
  }

  /**
   * One entry point: a session closed on the way stops it quietly; another error goes to
   * `onError`. Resolves to whether the session is still open.
   */
  private async run(body: () => Promise<void>, onError: (err: unknown) => void): Promise<boolean> {
    try {
      await body();
    } catch (err) {
      if (err !== CLOSED && !this.isClosed) onError(err);
    }
    return !this.isClosed;
  }

  private sendDescription(event: 'signal-offer' | 'signal-answer', desc: RTCSessionDescriptionInit): void {
    const sdp = this.deps.dropCandidates ? withoutCandidates(desc.sdp ?? '') : desc.sdp ?? '';
    if (event === 'signal-offer') send(this.deps.socket, 'signal-offer', { offer: { type: 'offer', sdp }, ...this.ofCall() });
    else send(this.deps.socket, 'signal-answer', { answer: { type: 'answer', sdp }, ...this.ofCall() });
  }

  private ofCall(): { callId?: string } {
    return this.deps.callId ? { callId: this.deps.callId } : {};
  }

  private scheduleQuality(delayMs: number): void {
    const period = this.deps.qualityIntervalMs ?? 2000;
    if (period <= 0 || this.isClosed) return;
    this.qualityTimer = this.deps.timers.setTimeout(() => void this.readQuality(), Math.min(delayMs, period));
  }

  private async readQuality(): Promise<void> {
    this.qualityTimer = null;
    if (this.isClosed || this.pc.connectionState !== 'connected') return; // resumes on 'connected'
    await this.run(async () => {
      const report = await this.step(this.pc.getStats());
      const sample = mediaSample(report);
      const reading = judgeMedia(this.lastSample, sample);
      this.lastSample = sample;
      // the same reading tells whether media really goes through TURN (the "IP hidden" badge)
      const relayed = relayedBothWays(report);
      if (reading.quality !== this.view.mediaQuality || relayed !== this.view.relayed) this.update({ mediaQuality: reading.quality, relayed });
    }, (err) => this.deps.log?.('getStats failed', err));
    this.scheduleQuality(this.deps.qualityIntervalMs ?? 2000); // not when closed
  }

  private clearTimer(name: 'statsTimer' | 'connectTimer' | 'disconnectTimer' | 'qualityTimer'): void {
    const handle = this[name];
    if (handle !== null) this.deps.timers.clearTimeout(handle);
    this[name] = null;
  }

  private onLocalCandidate(candidate: RTCIceCandidate | null): void {
    if (this.isClosed || !candidate || this.deps.dropCandidates) return; // null: gathering is complete
    const c = candidate as RTCIceCandidate & { toJSON?: () => RTCIceCandidateInit };
    const init = typeof c.toJSON === 'function' ? c.toJSON() : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
    send(this.deps.socket, 'signal-ice-candidate', { candidate: { ...init, candidate: init.candidate ?? '' }, ...this.ofCall() });
  }

  private onTrack(ev: RTCTrackEvent): void {
    const stream = ev.streams?.[0] ?? this.view.remoteStream ?? (this.deps.createMediaStream ? this.deps.createMediaStream() : new MediaStream());
    if (!stream.getTracks().includes(ev.track)) stream.addTrack(ev.track);
    this.update({ remoteStream: stream });
  }

  private update(patch: Partial<PeerView>): void {
    if (this.isClosed) return;
    this.view = { ...this.view, ...patch };
    this.owner.onChange(this.view);
  }

  private fail(what: string, err?: unknown, why: FailReason = 'failed'): void {
    if (this.isClosed) return; // e.g. setRemoteDescription refused because we closed
    if (err !== undefined) this.deps.log?.(`${what} error`, err);
    if (!this.statsSent) {
      // field telemetry: this call never carried media (or stopped for good)
      this.statsSent = true;
      const failed: CallFailed = { outcome: 'failed' };
      send(this.deps.socket, 'call-stats', failed);
    }
    this.owner.onFailed(why);
  }

  private async addQueuedCandidates(): Promise<void> {
    const queued = this.queued ?? [];
    this.queued = null;
    for (const c of queued) await this.step(this.addCandidate(c));
  }

  private async addCandidate(c: RTCIceCandidateInit): Promise<void> {
    // A bad candidate must not end the call; others may still work.
    await this.run(() => this.pc.addIceCandidate(c), (err) => this.deps.log?.('addIceCandidate failed', err));
  }

  private async sendStats(timeToMediaMs: number, retriesLeft: number): Promise<void> {
    let sent = false;
    const open = await this.run(async () => {
      const info = selectedPairInfo(await this.step(this.pc.getStats()));
      if (!info) return;
      const stats: CallStats = { timeToMediaMs, candidateType: info.candidateType, rttMs: info.rttMs };
      send(this.deps.socket, 'call-stats', stats);
      sent = true;
    }, (err) => this.deps.log?.('getStats failed', err));
    if (open && !sent && retriesLeft > 0) {
      this.statsTimer = this.deps.timers.setTimeout(() => {
        this.statsTimer = null;
        void this.sendStats(timeToMediaMs, retriesLeft - 1);
      }, this.deps.statsRetryDelayMs);
    }
  }
}

/** An SDP without its candidate lines (the test-only dropCandidates flag). */
function withoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}
