// One match's WebRTC call: the RTCPeerConnection, the remote candidates that
// arrive before the remote description, the call-stats report and its timer.
//
// Theory of operation. The server decides the roles (the searcher is the
// initiator and offers, the other answers), so there is no glare to resolve;
// what the page must survive is the call ending at any moment: Next, Stop,
// the partner leaving, a ban, a lost socket, while createOffer or
// setRemoteDescription is still pending. The controller closes the session on
// every way out of the call (CallController.enter), and close() is final:
// the handlers come off the connection, the connection and the remote tracks
// are stopped, the timer is cleared and `closed` is set. Every continuation
// after an await checks that one flag, on its own session, and stops; a
// closed session never calls its owner again. Remote candidates are queued
// until the remote description is applied (they can overtake the offer on the
// wire) and then added in order; a candidate the browser refuses is logged,
// not fatal. The browser's own signalingState says whether an answer is
// expected.

import { selectedPairInfo } from './stats';
import { send, type CallFailed, type CallStats, type Role, type SignalingSocket } from './protocol';
import type { Timers } from './timers';

/** What the page shows of the connection. */
export interface PeerView {
  remoteStream: MediaStream | null;
  connectionState: RTCPeerConnectionState;
  iceConnectionState: RTCIceConnectionState;
}

export interface CallSessionDeps {
  socket: SignalingSocket;
  timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  now: () => number;
  /** builds a MediaStream for tracks that arrive without one */
  createMediaStream?: () => MediaStream;
  /** retries of getStats() while the selected pair is not known yet */
  statsRetries: number;
  statsRetryDelayMs: number;
  log?: (...args: unknown[]) => void;
}

export interface CallSessionOwner {
  /** the remote stream or a connection state changed */
  onChange(view: PeerView): void;
  /** ICE failed for good, or negotiation threw: this call will carry no media */
  onFailed(): void;
}

export class CallSession {
  private isClosed = false;
  /** remote candidates waiting for the remote description; null once it is applied */
  private queued: RTCIceCandidateInit[] | null = [];
  /** call-stats is sent once per call: the first frame's figures or the failure */
  private statsSent = false;
  private statsTimer: unknown = null;
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
    pc.onconnectionstatechange = () => {
      this.update({ connectionState: pc.connectionState });
      if (pc.connectionState === 'failed') this.fail('ICE failed');
    };
    pc.oniceconnectionstatechange = () => this.update({ iceConnectionState: pc.iceConnectionState });
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
    try {
      // Without a camera/mic we still want to receive the partner's media.
      for (const kind of ['audio', 'video']) {
        if (!kinds.has(kind)) this.pc.addTransceiver(kind, { direction: 'recvonly' });
      }
      const offer = await this.pc.createOffer();
      if (this.isClosed) return;
      await this.pc.setLocalDescription(offer);
      if (this.isClosed) return;
      const desc = this.pc.localDescription ?? offer;
      send(this.deps.socket, 'signal-offer', { offer: { type: 'offer', sdp: desc.sdp ?? '' } });
    } catch (err) {
      this.fail('negotiation', err);
    }
  }

  /** The partner's offer (we are the receiver): apply it and answer. */
  async acceptOffer(offer: RTCSessionDescriptionInit): Promise<void> {
    if (this.isClosed) return;
    try {
      await this.pc.setRemoteDescription(offer);
      if (this.isClosed) return;
      await this.addQueuedCandidates();
      if (this.isClosed) return;
      const answer = await this.pc.createAnswer();
      if (this.isClosed) return;
      await this.pc.setLocalDescription(answer);
      if (this.isClosed) return;
      const desc = this.pc.localDescription ?? answer;
      send(this.deps.socket, 'signal-answer', { answer: { type: 'answer', sdp: desc.sdp ?? '' } });
    } catch (err) {
      this.fail('negotiation', err);
    }
  }

  /** The partner's answer to our offer. */
  async acceptAnswer(answer: RTCSessionDescriptionInit): Promise<void> {
    if (this.isClosed || this.pc.signalingState !== 'have-local-offer') return; // duplicate or stale answer
    try {
      await this.pc.setRemoteDescription(answer);
      if (this.isClosed) return;
      await this.addQueuedCandidates();
    } catch (err) {
      this.fail('negotiation', err);
    }
  }

  /** Trickled candidates from the partner; kept until the remote description is applied. */
  addRemoteCandidates(candidates: RTCIceCandidateInit[]): void {
    if (this.isClosed) return;
    const valid = candidates.filter((c) => c && typeof c === 'object');
    if (this.queued) this.queued.push(...valid);
    else for (const c of valid) void this.addCandidate(c);
  }

  /** The page showed the first remote frame: report how the call connected, once. */
  firstFrame(): void {
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
    if (this.statsTimer !== null) this.deps.timers.clearTimeout(this.statsTimer);
    this.statsTimer = null;
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

  // ---- inside ----------------------------------------------------------------

  private onLocalCandidate(candidate: RTCIceCandidate | null): void {
    if (this.isClosed || !candidate) return; // null: gathering is complete
    const c = candidate as RTCIceCandidate & { toJSON?: () => RTCIceCandidateInit };
    const init = typeof c.toJSON === 'function' ? c.toJSON() : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
    send(this.deps.socket, 'signal-ice-candidate', { candidate: { ...init, candidate: init.candidate ?? '' } });
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

  private fail(what: string, err?: unknown): void {
    if (this.isClosed) return; // e.g. setRemoteDescription refused because we closed
    if (err !== undefined) this.deps.log?.(`${what} error`, err);
    if (!this.statsSent) {
      // field telemetry: this call never carried media (or stopped for good)
      this.statsSent = true;
      const failed: CallFailed = { outcome: 'failed' };
      send(this.deps.socket, 'call-stats', failed);
    }
    this.owner.onFailed();
  }

  private async addQueuedCandidates(): Promise<void> {
    const queued = this.queued ?? [];
    this.queued = null;
    for (const c of queued) {
      if (this.isClosed) return;
      await this.addCandidate(c);
    }
  }

  private async addCandidate(c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(c);
    } catch (err) {
      // A bad candidate must not end the call; others may still work.
      if (!this.isClosed) this.deps.log?.('addIceCandidate failed', err);
    }
  }

  private async sendStats(timeToMediaMs: number, retriesLeft: number): Promise<void> {
    try {
      const report = await this.pc.getStats();
      if (this.isClosed) return;
      const info = selectedPairInfo(report);
      if (info) {
        const stats: CallStats = { timeToMediaMs, candidateType: info.candidateType, rttMs: info.rttMs };
        send(this.deps.socket, 'call-stats', stats);
        return;
      }
    } catch (err) {
      if (this.isClosed) return;
      this.deps.log?.('getStats failed', err);
    }
    if (retriesLeft > 0) {
      this.statsTimer = this.deps.timers.setTimeout(() => {
        this.statsTimer = null;
        void this.sendStats(timeToMediaMs, retriesLeft - 1);
      }, this.deps.statsRetryDelayMs);
    }
  }
}
