import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dataPhase, idle, readMatch } from '../src/lib/callState';
import { candidate, deferred, FakePeerConnection, FakeStream, FakeTrack, flush, ICE, setup } from './fakes';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('searching', () => {
  it('Start sends find-partner and shows the queue position', () => {
    const t = setup();
    t.controller.start();
    expect(t.socket.events()).toEqual(['find-partner']);
    expect(t.call().phase).toBe('searching');
    t.socket.serverSends('waiting-for-partner', { queuePosition: 3, timestamp: 1 });
    expect(t.call()).toMatchObject({ phase: 'searching', queuePosition: 3 });
  });

  it('Start twice does not search twice', () => {
    const t = setup();
    t.controller.start();
    t.controller.start();
    expect(t.socket.events()).toEqual(['find-partner']);
  });

  it('shows the connection quality from the server', () => {
    const t = setup();
    t.socket.serverSends('connection-quality', { quality: 'poor' });
    expect(t.state().quality).toBe('poor');
  });
});

describe('match and negotiation', () => {
  it('the initiator creates a fresh peer connection with the server ICE servers and offers', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', timestamp: 1, iceServers: ICE });
    await flush();
    expect(t.pcs).toHaveLength(1);
    expect(t.pc().config).toEqual({ iceServers: ICE, iceTransportPolicy: 'all' });
    expect(t.pc().tracks.map((x) => x.kind).sort()).toEqual(['audio', 'video']);
    expect(t.call()).toMatchObject({ phase: 'matched', partnerName: 'Bob', role: 'initiator' });
    expect(t.socket.last('signal-offer')).toEqual({ offer: { type: 'offer', sdp: 'offer-sdp-0' } });
  });

  it('a peer connection the browser refuses ends the match with a message', async () => {
    const t = setup({
      createPeerConnection: () => {
        throw new Error('Invalid ICE server');
      },
    });
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [{ urls: 'bogus:x' }] });
    await flush();
    expect(t.socket.events()).toEqual(['find-partner', 'leave']);
    expect(t.call().phase).toBe('idle');
    expect(t.state().toast?.message).toMatch(/Invalid ICE server/);
  });

  it('never invents ICE servers: none from the server means none', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob' });
    await flush();
    expect(t.pc().config).toEqual({ iceServers: [], iceTransportPolicy: 'all' });
  });

  it('the receiver waits for the offer, then answers', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    expect(t.socket.events()).not.toContain('signal-offer');
    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'remote-offer' } });
    await flush();
    expect(t.pc().remoteDescription).toEqual({ type: 'offer', sdp: 'remote-offer' });
    expect(t.socket.last('signal-answer')).toEqual({ answer: { type: 'answer', sdp: 'answer-sdp-0' } });
  });

  it('the initiator applies the answer', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.socket.serverSends('signal-answer', { answer: { type: 'answer', sdp: 'remote-answer' } });
    await flush();
    expect(t.pc().remoteDescription).toEqual({ type: 'answer', sdp: 'remote-answer' });
    expect(t.pc().signalingState).toBe('stable');
  });

  it('without a camera the initiator still asks to receive audio and video', async () => {
    const t = setup({ getLocalStream: () => null });
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    expect(t.pc().transceivers).toEqual([
      { kind: 'audio', direction: 'recvonly' },
      { kind: 'video', direction: 'recvonly' },
    ]);
  });

  it('trickles local candidates as RTCIceCandidateInit JSON', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.pc().gatherCandidate(candidate(1));
    t.pc().onicecandidate?.({ candidate: null }); // end of candidates: nothing to send
    expect(t.socket.sent.filter((s) => s.event === 'signal-ice-candidate')).toEqual([
      { event: 'signal-ice-candidate', data: { candidate: candidate(1) } },
    ]);
  });

  it('shows the remote stream and the connection / ICE states', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    const remote = new FakeStream();
    const v = new FakeTrack('video');
    remote.addTrack(v);
    t.pc().receiveTrack(v, remote);
    expect(t.matched().remoteStream).toBe(remote);
    t.pc().setIceState('checking');
    t.pc().setConnectionState('connecting');
    expect(t.call()).toMatchObject({ connectionState: 'connecting', iceConnectionState: 'checking' });
  });

  it('collects tracks that arrive without a stream into one stream', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    const a = new FakeTrack('audio');
    const v = new FakeTrack('video');
    t.pc().receiveTrack(a);
    const first = t.matched().remoteStream;
    t.pc().receiveTrack(v);
    expect(t.matched().remoteStream).toBe(first);
    expect(first!.getTracks()).toEqual([a, v]);
  });
});

describe('ICE candidates before the remote description', () => {
  it('are queued, not dropped, and added once the offer is applied (receiver)', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    t.socket.serverSends('signal-ice-candidate', { candidate: candidate(1) });
    t.socket.serverSends('signal-ice-candidates-batch', { candidates: [candidate(2), candidate(3)] });
    await flush();
    expect(t.pc().addedCandidates).toEqual([]);

    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
    await flush();
    expect(t.pc().addedCandidates).toEqual([candidate(1), candidate(2), candidate(3)]);

    t.socket.serverSends('signal-ice-candidate', { candidate: candidate(4) });
    await flush();
    expect(t.pc().addedCandidates).toEqual([candidate(1), candidate(2), candidate(3), candidate(4)]);
  });

  it('are queued while setRemoteDescription is still running (initiator)', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    const slow = deferred();
    t.pc().gates.setRemoteDescription = slow;
    t.socket.serverSends('signal-answer', { answer: { type: 'answer', sdp: 'y' } });
    await flush();
    t.socket.serverSends('signal-ice-candidates-batch', { candidates: [candidate(5), candidate(6)] });
    await flush();
    expect(t.pc().addedCandidates).toEqual([]);
    slow.resolve();
    await flush();
    expect(t.pc().addedCandidates).toEqual([candidate(5), candidate(6)]);
  });

  it('a bad candidate does not end the call', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
    await flush();
    const pc = t.pc();
    pc.addIceCandidate = async () => {
      throw new Error('OperationError');
    };
    t.socket.serverSends('signal-ice-candidate', { candidate: candidate(9) });
    await flush();
    expect(t.call().phase).toBe('matched');
    expect(pc.closed).toBe(false);
  });

  it('candidates with no call are ignored', async () => {
    const t = setup();
    t.socket.serverSends('signal-ice-candidate', { candidate: candidate(1) });
    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
    await flush();
    expect(t.pcs).toHaveLength(0);
    expect(t.socket.sent).toEqual([]);
  });
});

describe('next', () => {
  it('in the middle of negotiation closes the old connection and ignores its late results', async () => {
    const t = setup();
    t.controller.start();
    const offer = deferred();
    FakePeerConnection.nextGates = { createOffer: offer };
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    const old = t.pc();
    await flush();
    t.socket.clear();

    t.controller.next(); // the offer is still being created
    expect(old.closed).toBe(true);
    expect(old.handlersDetached()).toBe(true);
    expect(t.socket.events()).toEqual(['next']);
    expect(t.call()).toEqual({ phase: 'searching', notice: null, queuePosition: null, unanswered: { action: 'next', options: undefined } });

    offer.resolve();
    await flush();
    expect(t.socket.events()).toEqual(['next']); // no offer for the abandoned call
    expect(old.localDescription).toBeNull();

    // the next match gets a fresh connection and negotiates normally
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Cid', iceServers: [] });
    await flush();
    expect(t.pcs).toHaveLength(2);
    expect(t.pc()).not.toBe(old);
    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
    await flush();
    expect(t.socket.events()).toEqual(['next', 'signal-answer']);
    expect(t.call()).toMatchObject({ phase: 'matched', partnerName: 'Cid' });
  });

  it('ignores an answer that arrives for the call that was left', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    const old = t.pc();
    t.controller.next();
    t.socket.serverSends('signal-answer', { answer: { type: 'answer', sdp: 'late' } });
    t.socket.serverSends('signal-ice-candidate', { candidate: candidate(1) });
    await flush();
    expect(old.remoteDescription).toBeNull();

    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Cid', iceServers: [] });
    await flush();
    const fresh = t.pc();
    expect(fresh).not.toBe(old);
    expect(t.pcs).toHaveLength(2);
    expect(fresh.addedCandidates).toEqual([]);
  });

  it('while the receiver is applying the offer, Next leaves no answer behind', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    const pc = t.pc();
    const srd = deferred();
    pc.gates.setRemoteDescription = srd;
    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
    await flush();
    t.controller.next();
    srd.resolve();
    await flush();
    expect(t.socket.events()).not.toContain('signal-answer');
    expect(pc.closed).toBe(true);
  });

  it('releases the remote stream of the old call', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    const track = new FakeTrack('video');
    t.pc().receiveTrack(track, new FakeStream([track]));
    t.controller.next();
    expect(track.readyState).toBe('ended');
    expect(t.call().phase).toBe('searching'); // no call, no remote stream
  });

  it('does not touch the local camera tracks', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.controller.next();
    expect(t.local.getTracks().every((x) => x.readyState === 'live')).toBe(true);
  });

  it('Next while already searching keeps the place in the queue', () => {
    const t = setup();
    t.controller.start();
    t.controller.next();
    expect(t.socket.events()).toEqual(['find-partner']);
  });
});

describe('a partner who vanishes', () => {
  async function inCall(opts: Parameters<typeof setup>[0] = {}) {
    const t = setup(opts);
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
    await flush();
    t.socket.clear();
    return t;
  }

  it('partner-disconnected: says so, closes the connection and searches again', async () => {
    const t = await inCall();
    const pc = t.pc();
    t.socket.serverSends('partner-disconnected', {});
    expect(pc.closed).toBe(true);
    expect(pc.handlersDetached()).toBe(true);
    expect(t.socket.events()).toEqual(['find-partner']);
    expect(t.call().phase).toBe('searching');
    expect(t.notice()).toMatch(/disconnected/i);
  });

  it('partner-left: says so and searches again', async () => {
    const t = await inCall();
    t.socket.serverSends('partner-left', { reason: 'leave' });
    expect(t.notice()).toMatch(/left/i);
    expect(t.socket.events()).toEqual(['find-partner']);
  });

  it('with auto-search off it stays idle', async () => {
    const t = await inCall();
    t.choices.update({ autoSearch: false });
    t.socket.serverSends('partner-left', { reason: 'next' });
    expect(t.socket.events()).toEqual([]);
    expect(t.call().phase).toBe('idle');
    expect(t.notice()).toMatch(/Start/);
  });

  it('a partner-left that crosses our own Next is ignored', async () => {
    const t = await inCall();
    t.controller.next();
    t.socket.serverSends('partner-left', { reason: 'next' });
    expect(t.socket.events()).toEqual(['next']);
    expect(t.call().phase).toBe('searching');
  });

  it('ICE failure ends the call with a message and searches again', async () => {
    const t = await inCall();
    const pc = t.pc();
    pc.setConnectionState('failed');
    expect(pc.closed).toBe(true);
    expect(t.socket.events()).toEqual(['call-stats', 'next']); // the failure is reported first
    expect(t.state().toast?.message).toMatch(/failed/i);
    expect(t.call().phase).toBe('searching');
  });

  it('ICE failure with auto-search off leaves and goes idle', async () => {
    const t = await inCall();
    t.choices.update({ autoSearch: false });
    t.pc().setConnectionState('failed');
    expect(t.socket.events()).toEqual(['call-stats', 'leave']);
    expect(t.call().phase).toBe('idle');
  });

  it('losing the server for good ends the call (a blip does not: recovery.test.ts)', async () => {
    const t = await inCall();
    const pc = t.pc();
    t.socket.connected = false;
    Object.assign(t.socket, { active: false });
    t.socket.serverSends('disconnect', 'transport close');
    expect(pc.closed).toBe(true);
    expect(t.call().phase).toBe('idle');
    expect(t.state().socketConnected).toBe(false);
    expect(t.state().toast?.message).toMatch(/Lost connection/);
    t.socket.connected = true;
    t.socket.serverSends('connect');
    expect(t.state().toast).toBeNull();
  });
});

describe('stop', () => {
  it('leaves, closes the connection and ignores a match that crossed it', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    const pc = t.pc();
    t.controller.stop();
    expect(pc.closed).toBe(true);
    expect(t.socket.events()).toContain('leave');
    expect(t.call().phase).toBe('idle');
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Late', iceServers: [] });
    await flush();
    expect(t.pcs).toHaveLength(1);
    expect(t.call().phase).toBe('idle');
  });

  it('when idle sends nothing', () => {
    const t = setup();
    t.controller.stop();
    expect(t.socket.sent).toEqual([]);
  });
});

describe('rate limits and errors', () => {
  it('a rate-limited search is retried after retryAfter, with a toast', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('rate-limited', { message: 'Please wait before searching again', retryAfter: 800, event: 'find-partner' });
    expect(t.state().toast?.message).toMatch(/Please wait.*0\.8 s/);
    expect(t.state().toast?.kind).toBe('rate-limit');
    vi.advanceTimersByTime(799);
    expect(t.socket.events()).toEqual(['find-partner']);
    vi.advanceTimersByTime(1);
    expect(t.socket.events()).toEqual(['find-partner', 'find-partner']);
  });

  it('a rate-limited Next is retried as Next', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.socket.clear();
    t.controller.next();
    t.socket.serverSends('rate-limited', { message: 'slow down', retryAfter: 500, event: 'next' });
    vi.advanceTimersByTime(500);
    expect(t.socket.events()).toEqual(['next', 'next']);
  });

  it('a search answered unavailable (a Redis restart) is sent again shortly', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('error', { message: 'find-partner: shared state unavailable', event: 'find-partner', code: 'unavailable' });
    expect(t.state().toast?.message).toBe("The service is briefly unavailable. Retrying in 2.0 s.");
    expect(t.state().call.phase).toBe('searching');
    vi.advanceTimersByTime(1999);
    expect(t.socket.events()).toEqual(['find-partner']);
    vi.advanceTimersByTime(1);
    expect(t.socket.events()).toEqual(['find-partner', 'find-partner']);
  });

  it('Stop cancels a pending retry', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('rate-limited', { retryAfter: 500, event: 'find-partner' });
    t.controller.stop();
    vi.advanceTimersByTime(1000);
    expect(t.socket.events()).toEqual(['find-partner', 'leave']);
  });

  it('a rate limit after the search went through is not retried', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('waiting-for-partner', { queuePosition: 1 });
    t.socket.serverSends('rate-limited', { retryAfter: 500, event: 'find-partner' });
    vi.advanceTimersByTime(1000);
    expect(t.socket.events()).toEqual(['find-partner']);
    expect(t.state().toast?.kind).toBe('rate-limit');
  });

  it('server errors become a toast that goes away', () => {
    const t = setup();
    t.socket.serverSends('error', { message: 'Already in a match' });
    expect(t.state().toast).toMatchObject({ kind: 'error', message: 'Already in a match' });
    vi.advanceTimersByTime(6000);
    expect(t.state().toast).toBeNull();
  });
});

describe('heartbeat and telemetry', () => {
  it('sends heartbeat {sentAt} every 5 s while connected and shows the round trip', () => {
    const t = setup();
    vi.advanceTimersByTime(5000);
    expect(t.socket.sent).toEqual([{ event: 'heartbeat', data: { sentAt: 1_000_000 } }]);
    t.advanceClock(40);
    t.socket.serverSends('heartbeat-ack', { sentAt: 1_000_000, serverTime: 5 });
    expect(t.state().latencyMs).toBe(40);
    t.socket.connected = false;
    t.socket.serverSends('disconnect', 'transport close');
    vi.advanceTimersByTime(20_000);
    expect(t.socket.events()).toEqual(['heartbeat']);
  });

  it('sends call-stats once, on the first remote frame', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    const pc = t.pc();
    pc.stats = new Map<string, any>([
      ['T1', { id: 'T1', type: 'transport', selectedCandidatePairId: 'P1' }],
      ['P1', { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', currentRoundTripTime: 0.012 }],
      ['L1', { id: 'L1', type: 'local-candidate', candidateType: 'srflx' }],
    ]);
    t.advanceClock(1234);
    const callSeq = t.matched().callSeq;
    t.controller.reportFirstFrame(callSeq);
    t.controller.reportFirstFrame(callSeq);
    await flush();
    const stats = t.socket.sent.filter((s) => s.event === 'call-stats');
    expect(stats).toEqual([{ event: 'call-stats', data: { timeToMediaMs: 1234, candidateType: 'srflx', rttMs: 12 } }]);
  });

  it('retries getStats until the selected pair is known, and not for an old call', async () => {
    const t = setup({ statsRetryDelayMs: 100 });
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    const pc = t.pc();
    t.controller.reportFirstFrame(t.matched().callSeq - 1); // a stale call: ignored
    t.controller.reportFirstFrame(t.matched().callSeq);
    await flush();
    expect(t.socket.events()).not.toContain('call-stats');
    pc.stats = new Map<string, any>([
      ['P', { id: 'P', type: 'candidate-pair', selected: true, localCandidateId: 'L' }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: 'host' }],
    ]);
    vi.advanceTimersByTime(100);
    await flush();
    expect(t.socket.last('call-stats')).toEqual({ timeToMediaMs: 0, candidateType: 'host', rttMs: null });
  });
});

describe('dispose', () => {
  it('detaches from the socket and closes the call', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.controller.dispose();
    expect(t.pc().closed).toBe(true);
    expect(t.socket.listenerCount()).toBe(0);
    t.socket.clear();
    vi.advanceTimersByTime(20_000);
    expect(t.socket.sent).toEqual([]);
  });
});

describe('relay-only calls and the privacy mode', () => {
  it('passes the server policy into the peer connection and shows it', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: ICE, iceTransportPolicy: 'relay' });
    await flush();
    expect(t.pc().config).toEqual({ iceServers: ICE, iceTransportPolicy: 'relay' });
    expect(t.matched().iceTransportPolicy).toBe('relay');
  });

  it('an unknown policy is treated as all', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [], iceTransportPolicy: 'nohost' });
    await flush();
    expect(t.pc().config).toEqual({ iceServers: [], iceTransportPolicy: 'all' });
  });

  it('Hide my IP sends privacy: true with find-partner and next, alone or with interests', async () => {
    const t = setup();
    t.choices.update({ privacy: true });
    t.controller.start();
    expect(t.socket.last('find-partner')).toEqual({ privacy: true });
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.choices.update({ interests: ['jazz'] });
    t.controller.next();
    expect(t.socket.last('next')).toEqual({ interests: ['jazz'], strict: false, privacy: true });
  });

  it('reports a call that failed before media once, as call-stats outcome failed', async () => {
    const t = setup();
    t.choices.update({ autoSearch: false });
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.pc().setConnectionState('failed');
    expect(t.socket.sent.filter((m) => m.event === 'call-stats')).toEqual([{ event: 'call-stats', data: { outcome: 'failed' } }]);
  });
});

describe('the call state', () => {
  async function matchedCall(opts: Parameters<typeof setup>[0] = {}) {
    const t = setup(opts);
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    return { t, session: t.matched().session!, pc: t.pc() };
  }

  const waysOut: Array<[string, (t: ReturnType<typeof setup>) => void]> = [
    ['Stop', (t) => t.controller.stop()],
    ['Next', (t) => t.controller.next()],
    ['partner-left', (t) => t.socket.serverSends('partner-left', { reason: 'next' })],
    ['partner-disconnected', (t) => t.socket.serverSends('partner-disconnected', {})],
    ['ICE failure', (t) => t.pc().setConnectionState('failed')],
    ['Block', (t) => t.controller.block()],
    ['banned', (t) => t.socket.serverSends('banned', { until: 2_000_000, reason: 'x' })],
    ['a lost socket', (t) => t.socket.serverSends('disconnect', 'io server disconnect')],
    ['a second match-found', (t) => t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Cid', iceServers: [] })],
    ['dispose', (t) => t.controller.dispose()],
  ];
  it.each(waysOut)('%s closes the session that owned the call', async (way, leave) => {
    const { t, session, pc } = await matchedCall();
    leave(t);
    await flush();
    expect(session.closed).toBe(true);
    expect(pc.closed).toBe(true);
    expect(pc.handlersDetached()).toBe(true);
    const call = t.call(); // (a disposed controller publishes nothing more)
    if (call.phase === 'matched' && way !== 'dispose') expect(call.session).not.toBe(session);
  });

  it('a session closed while getStats is pending sends nothing and retries nothing', async () => {
    const { t, pc } = await matchedCall({ statsRetryDelayMs: 100 });
    const stats = deferred<Map<string, unknown>>();
    let calls = 0;
    (pc as unknown as { getStats: () => Promise<Map<string, unknown>> }).getStats = () => {
      calls += 1;
      return stats.promise;
    };
    t.controller.reportFirstFrame(t.matched().callSeq);
    t.controller.stop();
    stats.resolve(new Map()); // no selected pair: an open session would retry
    await flush();
    vi.advanceTimersByTime(1000);
    await flush();
    expect(calls).toBe(1);
    expect(t.socket.events()).not.toContain('call-stats');
  });

  it('a failure after the first frame was reported sends no second call-stats', async () => {
    const { t, pc } = await matchedCall();
    pc.stats = new Map<string, any>([
      ['P', { id: 'P', type: 'candidate-pair', selected: true, localCandidateId: 'L' }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: 'relay' }],
    ]);
    t.controller.reportFirstFrame(t.matched().callSeq);
    await flush();
    pc.setConnectionState('failed');
    expect(t.socket.sent.filter((s) => s.event === 'call-stats')).toEqual([
      { event: 'call-stats', data: { timeToMediaMs: 0, candidateType: 'relay', rttMs: null } },
    ]);
  });

  it('a search retry survives a new notice (report of the last partner) and goes with the server answer', async () => {
    const { t } = await matchedCall();
    t.socket.serverSends('partner-left', { reason: 'leave' }); // auto-search: find-partner
    t.socket.serverSends('rate-limited', { retryAfter: 500, event: 'find-partner' });
    t.controller.report('spam');
    expect(t.notice()).toMatch(/You reported Bob/);
    t.socket.clear();
    vi.advanceTimersByTime(500);
    expect(t.socket.events()).toEqual(['find-partner']);
    t.socket.serverSends('waiting-for-partner', { queuePosition: 1 });
    t.socket.serverSends('rate-limited', { retryAfter: 500, event: 'find-partner' });
    vi.advanceTimersByTime(1000);
    expect(t.socket.events()).toEqual(['find-partner']);
  });

  it('a rate limit is matched by its event, not its wording', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('rate-limited', { message: 'Please wait before searching again', retryAfter: 500, event: 'chat-message' });
    vi.advanceTimersByTime(1000);
    expect(t.socket.events()).toEqual(['find-partner']);
  });

  it('a refused search goes idle and leaves, so the server agrees that we are not waiting', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('error', { message: 'find-partner: bad', event: 'find-partner', code: 'invalid_payload' });
    expect(t.socket.events()).toEqual(['find-partner', 'leave']);
    expect(t.call()).toEqual(idle());
  });

  it('a search refused because we already wait keeps the place quietly (by code, not wording)', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('rate-limited', { retryAfter: 500, event: 'find-partner' });
    t.socket.serverSends('error', { message: 'Already in queue', event: 'find-partner', code: 'refused' });
    expect(t.call()).toMatchObject({ phase: 'searching', unanswered: null });
    vi.advanceTimersByTime(1000);
    expect(t.socket.events()).toEqual(['find-partner']);
    expect(t.state().toast?.kind).toBe('rate-limit'); // no error toast
  });

  it('a lost socket while searching says the search (not a call) stopped', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('disconnect', 'io server disconnect');
    expect(t.notice()).toMatch(/search stopped/);
  });

  it('connect_error: a refused token signs out, a network error is a toast until the socket connects', () => {
    const refused: string[] = [];
    const t = setup({ onRefused: (m) => refused.push(m) });
    t.socket.serverSends('connect_error', new Error('websocket error'));
    expect(t.state().toast?.message).toMatch(/Cannot reach the server \(websocket error\)/);
    t.socket.serverSends('connect');
    expect(t.state().toast).toBeNull();
    Object.assign(t.socket, { active: false });
    t.socket.serverSends('connect_error', new Error('Authentication failed: token expired'));
    expect(refused).toEqual(['Authentication failed: token expired. Please join again.']);
  });

  it('an error toast that is not about the connection stays when the socket connects', () => {
    const t = setup();
    t.socket.serverSends('error', { message: 'Already in a match' });
    t.socket.serverSends('connect');
    expect(t.state().toast?.message).toBe('Already in a match');
  });

  it('match-found is read defensively', () => {
    expect(readMatch(undefined)).toEqual({ role: 'receiver', partnerName: 'Stranger', iceServers: [], iceTransportPolicy: 'all', commonInterests: [], commonLanguages: [], mode: 'video' });
    expect(readMatch({ role: 'initiator', partnerName: '', commonInterests: ['a', 5 as unknown as string] })).toMatchObject({ role: 'initiator', partnerName: 'Stranger', commonInterests: ['a'] });
  });

  it('data-phase keeps the values of the browser tests: matched is "connected"', async () => {
    const { t } = await matchedCall();
    expect(dataPhase(t.call())).toBe('connected');
    t.socket.serverSends('banned', { until: 1, reason: 'x' });
    expect(dataPhase(t.call())).toBe('idle');
  });
});
