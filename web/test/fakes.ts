// Test doubles for the call controller: a socket, RTCPeerConnection, streams.

import { CallController, type CallDeps } from '../src/lib/callController';
import { ChoicesStore } from '../src/lib/choices';
import type { CallState, Matched } from '../src/lib/callState';
import type { SignalingSocket } from '../src/lib/protocol';

type Listener = (...args: any[]) => void;

export class FakeSocket implements SignalingSocket {
  connected = true;
  sent: Array<{ event: string; data: unknown }> = [];
  private listeners = new Map<string, Set<Listener>>();

  on(event: string, fn: Listener) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(fn);
    return this;
  }
  off(event: string, fn: Listener) {
    this.listeners.get(event)?.delete(fn);
    return this;
  }
  emit(event: string, ...args: any[]) {
    this.sent.push({ event, data: args[0] });
    return this;
  }
  /** the server sends an event to this client */
  serverSends(event: string, data?: unknown) {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn(data);
  }
  listenerCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
  events(): string[] {
    return this.sent.map((s) => s.event);
  }
  last(event: string): any {
    return [...this.sent].reverse().find((s) => s.event === event)?.data;
  }
  clear() {
    this.sent = [];
  }
}

export class FakeTrack {
  readyState: 'live' | 'ended' = 'live';
  enabled = true;
  constructor(readonly kind: 'audio' | 'video', readonly id = `${kind}-${Math.random().toString(36).slice(2)}`) {}
  stop() {
    this.readyState = 'ended';
  }
}

export class FakeStream {
  private tracks: FakeTrack[];
  constructor(tracks: FakeTrack[] = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return [...this.tracks];
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  addTrack(t: FakeTrack) {
    this.tracks.push(t);
  }
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Gate = 'createOffer' | 'createAnswer' | 'setRemoteDescription' | 'setLocalDescription';

export class FakePeerConnection {
  static created: FakePeerConnection[] = [];
  /** gates for the next connection created (set before the match arrives) */
  static nextGates: Partial<Record<Gate, Deferred>> = {};
  connectionState: RTCPeerConnectionState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  onicecandidate: ((ev: any) => void) | null = null;
  ontrack: ((ev: any) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onsignalingstatechange: (() => void) | null = null;
  onicegatheringstatechange: (() => void) | null = null;
  ondatachannel: (() => void) | null = null;
  addedCandidates: RTCIceCandidateInit[] = [];
  tracks: FakeTrack[] = [];
  transceivers: Array<{ kind: string; direction?: string }> = [];
  closed = false;
  gates: Partial<Record<Gate, Deferred>> = {};
  stats = new Map<string, any>();
  failNextRemoteDescription = false;

  constructor(readonly config: RTCConfiguration) {
    FakePeerConnection.created.push(this);
    this.gates = FakePeerConnection.nextGates;
    FakePeerConnection.nextGates = {};
  }

  private async pass(gate: Gate) {
    const g = this.gates[gate];
    if (g) await g.promise;
  }
  async createOffer() {
    await this.pass('createOffer');
    return { type: 'offer' as const, sdp: `offer-sdp-${FakePeerConnection.created.indexOf(this)}` };
  }
  async createAnswer() {
    await this.pass('createAnswer');
    return { type: 'answer' as const, sdp: `answer-sdp-${FakePeerConnection.created.indexOf(this)}` };
  }
  async setLocalDescription(d: RTCSessionDescriptionInit) {
    await this.pass('setLocalDescription');
    if (this.closed) throw new Error('InvalidStateError: closed');
    this.localDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
  }
  async setRemoteDescription(d: RTCSessionDescriptionInit) {
    await this.pass('setRemoteDescription');
    if (this.closed) throw new Error('InvalidStateError: closed');
    this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  async addIceCandidate(c: RTCIceCandidateInit) {
    // like a browser: a candidate before the remote description is an error
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    if (this.closed) throw new Error('InvalidStateError: closed');
    this.addedCandidates.push(c);
  }
  addTrack(t: FakeTrack) {
    this.tracks.push(t);
    return {};
  }
  addTransceiver(kind: string, init?: { direction?: string }) {
    this.transceivers.push({ kind, direction: init?.direction });
    return {};
  }
  async getStats() {
    return new Map(this.stats);
  }
  close() {
    this.closed = true;
    this.signalingState = 'closed';
    this.connectionState = 'closed';
  }

  // helpers for tests
  setConnectionState(s: RTCPeerConnectionState) {
    this.connectionState = s;
    this.onconnectionstatechange?.();
  }
  setIceState(s: RTCIceConnectionState) {
    this.iceConnectionState = s;
    this.oniceconnectionstatechange?.();
  }
  gatherCandidate(init: RTCIceCandidateInit) {
    this.onicecandidate?.({ candidate: { ...init, toJSON: () => init } });
  }
  receiveTrack(track: FakeTrack, stream?: FakeStream) {
    this.ontrack?.({ track, streams: stream ? [stream] : [] });
  }
  handlersDetached(): boolean {
    return [this.onicecandidate, this.ontrack, this.onconnectionstatechange, this.oniceconnectionstatechange].every((h) => h === null);
  }
}

/** Let pending promise callbacks run. */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export function setup(overrides: Partial<CallDeps> = {}) {
  FakePeerConnection.created = [];
  FakePeerConnection.nextGates = {};
  const socket = new FakeSocket();
  const local = new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]);
  let clock = 1_000_000;
  // the user's choices, as the page owns them (no storage: nothing to remember between
  // tests); no spoken language unless a test gives some, so a plain search is the seed's
  const choices = new ChoicesStore(null);
  choices.update({ languages: [] });
  const controller = new CallController({
    socket,
    choices: choices.get,
    createPeerConnection: (config: RTCConfiguration) => new FakePeerConnection(config) as unknown as RTCPeerConnection,
    getLocalStream: () => local as unknown as MediaStream,
    createMediaStream: () => new FakeStream() as unknown as MediaStream,
    now: () => clock,
    ...overrides,
  });
  return {
    socket,
    local,
    controller,
    choices,
    pcs: FakePeerConnection.created,
    pc: (i = -1) => FakePeerConnection.created.at(i)!,
    advanceClock: (ms: number) => (clock += ms),
    state: () => controller.getState(),
    call: (): CallState => controller.getState().call,
    /** the Matched state (fails the test in any other state) */
    matched: (): Matched => {
      const call = controller.getState().call;
      if (call.phase !== 'matched') throw new Error(`expected a call, the page is ${call.phase}`);
      return call;
    },
    notice: (): string | null => {
      const call = controller.getState().call;
      return call.phase === 'idle' || call.phase === 'searching' ? call.notice : null;
    },
  };
}

export const ICE = [{ urls: 'stun:stun.example.test:3478' }];

export function candidate(n: number): RTCIceCandidateInit {
  return { candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5000${n} typ host`, sdpMid: '0', sdpMLineIndex: 0 };
}
