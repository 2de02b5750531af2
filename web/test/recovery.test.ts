// Calls that survive blips and restarts, honest connection states, the
// quality badge, notifications, settings and the camera switch.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_ICE_RESTARTS } from '../src/lib/callSession';
import { LocalCamera } from '../src/lib/camera';
import { linkWords, peerWords } from '../src/lib/connectionWords';
import { MatchNotifier, type AudioContextLike, type NotifyChoices } from '../src/lib/notifications';
import { readResume, RESUME_TIMEOUT_MS, willReconnect } from '../src/lib/recovery';
import { judgeMedia, mediaSample } from '../src/lib/stats';
import { FakeStream, FakeTrack, flush, setup } from './fakes';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const MATCH = { role: 'initiator', partnerName: 'Bob', iceServers: [], callId: 'call-1', resume: 'ticket.mac' };

async function inCall(opts: Parameters<typeof setup>[0] = {}, match: Record<string, unknown> = MATCH) {
  const t = setup(opts);
  t.controller.start();
  t.socket.serverSends('match-found', match);
  await flush();
  t.socket.clear();
  return t;
}

/** The socket drops (a blip: socket.io-client will reconnect). */
function blip(t: ReturnType<typeof setup>) {
  t.socket.connected = false;
  t.socket.serverSends('disconnect', 'transport close');
}

function reconnect(t: ReturnType<typeof setup>, recovered: boolean) {
  t.socket.connected = true;
  Object.assign(t.socket, { recovered });
  t.socket.serverSends('connect');
}

describe('a blip in a call', () => {
  it('keeps the call and its connection while the socket is away', async () => {
    const t = await inCall();
    t.pc().setConnectionState('connected');
    blip(t);
    expect(t.call().phase).toBe('matched');
    expect(t.pc().closed).toBe(false);
    expect(t.state().link).toBe('reconnecting');
    expect(linkWords(t.state().link)).toBe('Reconnecting…');
  });

  it('recovered by the server: nothing to do, nothing sent', async () => {
    const t = await inCall();
    t.pc().setConnectionState('connected');
    blip(t);
    reconnect(t, true);
    expect(t.state().link).toBe('online');
    expect(t.call().phase).toBe('matched');
    expect(t.socket.events().filter((e) => e !== 'heartbeat' && e !== 'media-state')).toEqual([]);
  });

  it('after a restart: resume-call with the ticket, and call-resumed brings the call back', async () => {
    const t = await inCall();
    t.pc().setConnectionState('connected');
    blip(t);
    reconnect(t, false);
    expect(t.socket.last('resume-call')).toEqual({ callId: 'call-1', resume: 'ticket.mac' });
    expect(t.state().link).toBe('resuming');
    t.socket.serverSends('call-resumed', { callId: 'someone-else' });
    expect(t.state().link).toBe('resuming');
    t.socket.serverSends('call-resumed', { callId: 'call-1' });
    expect(t.state().link).toBe('online');
    expect(t.call().phase).toBe('matched');
    expect(t.state().chat.lines.at(-1)?.text).toMatch(/call goes on/);
    vi.advanceTimersByTime(RESUME_TIMEOUT_MS); // the wait was cleared
    expect(t.call().phase).toBe('matched');
  });

  it('the partner never resumes: partner-disconnected ends the call and auto-search searches', async () => {
    const t = await inCall();
    t.pc().setConnectionState('connected');
    blip(t);
    reconnect(t, false);
    t.socket.serverSends('partner-disconnected', {});
    expect(t.call().phase).toBe('searching');
    expect(t.state().link).toBe('online');
    expect(t.pc().closed).toBe(true);
  });

  it('no answer at all: the page gives up after its own timeout and explains', async () => {
    const t = await inCall();
    t.choices.update({ autoSearch: false });
    t.pc().setConnectionState('connected');
    blip(t);
    reconnect(t, false);
    vi.advanceTimersByTime(RESUME_TIMEOUT_MS);
    expect(t.call().phase).toBe('idle');
    expect(t.notice()).toMatch(/could not be resumed/);
  });

  it('a refused resume-call ends the call with the reason', async () => {
    const t = await inCall();
    t.pc().setConnectionState('connected');
    blip(t);
    reconnect(t, false);
    t.socket.serverSends('error', { message: 'This call cannot be resumed', event: 'resume-call', code: 'refused' });
    expect(t.call().phase).toBe('searching');
    expect(t.notice()).toMatch(/could not be resumed.*This call cannot be resumed\./);
  });

  it('a call without media cannot be resumed: it ends and the page searches again', async () => {
    const t = await inCall();
    t.pc().setConnectionState('connecting');
    blip(t);
    reconnect(t, false);
    expect(t.socket.events()).not.toContain('resume-call');
    expect(t.socket.events()).toContain('find-partner');
    expect(t.notice()).toMatch(/could not be resumed/);
  });

  it('a server without tickets (older): the call ends after a restart', async () => {
    const t = await inCall({}, { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    t.pc().setConnectionState('connected');
    blip(t);
    reconnect(t, false);
    expect(t.socket.events()).not.toContain('resume-call');
    expect(t.call().phase).toBe('searching');
  });

  it('the server closing the connection is not a blip: the call ends', async () => {
    const t = await inCall();
    t.socket.serverSends('disconnect', 'io server disconnect');
    expect(t.call().phase).toBe('idle');
    expect(t.state().link).toBe('offline');
  });
});

describe('a blip while searching', () => {
  it('recovered: the place in the queue is kept, nothing resent', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('waiting-for-partner', { queuePosition: 2, timestamp: 1 });
    t.socket.clear();
    blip(t);
    expect(t.call().phase).toBe('searching');
    reconnect(t, true);
    expect(t.socket.events()).not.toContain('find-partner');
  });

  it('after a restart: the search is sent again', () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('waiting-for-partner', { queuePosition: 2, timestamp: 1 });
    t.socket.clear();
    blip(t);
    reconnect(t, false);
    expect(t.socket.events()).toContain('find-partner');
    expect(t.call().phase).toBe('searching');
    expect(t.notice()).toMatch(/Reconnected/);
  });
});

describe('connect timeout and ICE restarts', () => {
  it('no media within the timeout: could not connect, and the next partner is searched', async () => {
    const t = await inCall({ connectTimeoutMs: () => 15000 });
    vi.advanceTimersByTime(14999);
    expect(t.call().phase).toBe('matched');
    vi.advanceTimersByTime(1);
    expect(t.socket.events().filter((e) => e !== 'heartbeat')).toEqual(['call-stats', 'next']);
    expect(t.socket.last('call-stats')).toEqual({ outcome: 'failed' });
    expect(t.notice()).toMatch(/^Could not connect to Bob\. Finding someone else…/);
  });

  it('a call that connected is not timed out', async () => {
    const t = await inCall({ connectTimeoutMs: () => 15000 });
    t.pc().setConnectionState('connected');
    vi.advanceTimersByTime(60000);
    expect(t.call().phase).toBe('matched');
  });

  it('a connected call whose path fails restarts ICE with a new offer, then gives up', async () => {
    const t = await inCall();
    const pc = t.pc();
    pc.setConnectionState('connected');
    for (let i = 0; i < MAX_ICE_RESTARTS; i++) {
      pc.setConnectionState('failed');
      await flush();
      expect(t.socket.events().filter((e) => e === 'signal-offer')).toHaveLength(i + 1);
      expect(t.matched().restarting).toBe(true);
      expect(peerWords('disconnected', true)).toMatch(/restoring/);
    }
    pc.setConnectionState('failed');
    expect(t.call().phase).toBe('searching');
  });

  it('disconnected for the grace time: ICE restart; back to connected before it: none', async () => {
    const t = await inCall({});
    const pc = t.pc();
    pc.setConnectionState('connected');
    pc.setConnectionState('disconnected');
    vi.advanceTimersByTime(2000);
    pc.setConnectionState('connected');
    vi.advanceTimersByTime(5000);
    await flush();
    expect(t.socket.events()).not.toContain('signal-offer');
    pc.setConnectionState('disconnected');
    vi.advanceTimersByTime(3000);
    await flush();
    expect(t.socket.events()).toContain('signal-offer');
  });

  it('the receiver waits for the initiator to restart', async () => {
    const t = await inCall({}, { ...MATCH, role: 'receiver' });
    t.pc().setConnectionState('connected');
    t.pc().setConnectionState('failed');
    await flush();
    expect(t.socket.events()).not.toContain('signal-offer');
    expect(t.call().phase).toBe('matched');
  });
});

describe('the quality badge', () => {
  const report = (rtt: number, received: number, lost: number) =>
    new Map<string, any>([
      ['t', { id: 't', type: 'transport', selectedCandidatePairId: 'p' }],
      ['p', { id: 'p', type: 'candidate-pair', localCandidateId: 'l', currentRoundTripTime: rtt }],
      ['l', { id: 'l', type: 'local-candidate', candidateType: 'host' }],
      ['a', { id: 'a', type: 'inbound-rtp', kind: 'audio', packetsReceived: received, packetsLost: lost }],
    ]);

  it('judges round trip and loss between samples', () => {
    const first = mediaSample(report(0.02, 1000, 0));
    expect(judgeMedia(null, first).quality).toBe('excellent');
    expect(judgeMedia(first, mediaSample(report(0.25, 2000, 20))).quality).toBe('good'); // 2 % lost
    expect(judgeMedia(first, mediaSample(report(0.02, 2000, 100))).quality).toBe('poor'); // 9 %
    expect(judgeMedia(first, mediaSample(report(0.6, 2000, 0))).quality).toBe('poor');
    expect(judgeMedia(first, mediaSample(report(0.02, 1000, 0))).quality).toBe('poor'); // stalled
  });

  it('is read from getStats() while connected', async () => {
    const t = await inCall();
    const pc = t.pc();
    for (const [k, v] of report(0.02, 500, 0)) pc.stats.set(k, v);
    pc.setConnectionState('connected');
    expect(t.matched().mediaQuality ?? null).toBeNull();
    vi.advanceTimersByTime(1000);
    await flush();
    expect(t.matched().mediaQuality).toBe('excellent');
    for (const [k, v] of report(0.02, 600, 60)) pc.stats.set(k, v);
    vi.advanceTimersByTime(2000);
    await flush();
    expect(t.matched().mediaQuality).toBe('poor');
  });
});

describe('plain words', () => {
  it('never names a WebRTC state', () => {
    for (const s of ['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'] as const) {
      expect(peerWords(s)).not.toMatch(/ice|new|failed|closed/i);
    }
    expect(linkWords('online')).toBeNull();
  });

  it('reads resume tickets and reconnection reasons', () => {
    expect(readResume({ callId: 'c', resume: 'r' })).toEqual({ callId: 'c', resume: 'r' });
    expect(readResume({ callId: 1 as unknown as string, resume: 'r' })).toBeNull();
    expect(willReconnect('transport close', { active: true })).toBe(true);
    expect(willReconnect('io client disconnect', { active: true })).toBe(false);
    expect(willReconnect('ping timeout', { active: false })).toBe(false);
  });
});

describe('notifications', () => {
  function env(hidden: boolean, choices: NotifyChoices = { sound: true, title: true, vibrate: true }) {
    const listeners = new Set<() => void>();
    const doc = {
      hidden,
      title: 'randomchat',
      addEventListener: (_: 'visibilitychange', fn: () => void) => listeners.add(fn),
      removeEventListener: (_: 'visibilitychange', fn: () => void) => listeners.delete(fn),
    };
    const tones: number[] = [];
    const param = { setValueAtTime: () => {}, exponentialRampToValueAtTime: () => {} };
    const audio: AudioContextLike = {
      currentTime: 0,
      state: 'running',
      destination: {},
      resume: async () => {},
      createOscillator: () => ({ type: '', frequency: { setValueAtTime: (v: number) => void tones.push(v) }, connect: () => null, start: () => {}, stop: () => {} }),
      createGain: () => ({ gain: param, connect: () => null }),
    };
    const vibrations: unknown[] = [];
    const notifier = new MatchNotifier({ doc, createAudio: () => audio, vibrate: (p) => (vibrations.push(p), true), choices: () => choices });
    return { doc, listeners, tones, vibrations, notifier };
  }

  it('a hidden tab gets a tone and a title until it is shown again', () => {
    const e = env(true);
    e.notifier.prime();
    expect(e.notifier.match('Bob')).toEqual({ sound: true, title: true, vibrate: true });
    expect(e.tones).toEqual([660, 880]);
    expect(e.doc.title).toMatch(/New partner: Bob/);
    e.doc.hidden = false;
    e.listeners.forEach((fn) => fn());
    expect(e.doc.title).toBe('randomchat');
  });

  it('a visible tab gets no tone and no title; each can be turned off', () => {
    const visible = env(false);
    visible.notifier.prime();
    expect(visible.notifier.match('Bob')).toEqual({ sound: false, title: false, vibrate: true });
    const off = env(true, { sound: false, title: false, vibrate: false });
    off.notifier.prime();
    expect(off.notifier.match('Bob')).toEqual({ sound: false, title: false, vibrate: false });
    expect(off.tones).toEqual([]);
    expect(off.vibrations).toEqual([]);
  });

  it('the match notifies through the controller', async () => {
    const names: string[] = [];
    await inCall({ onMatch: (n) => names.push(n) });
    expect(names).toEqual(['Bob']);
  });
});

describe('camera switch', () => {
  it('the new track replaces the preview video and goes into the live call', async () => {
    const audio = new FakeTrack('audio');
    const oldVideo = new FakeTrack('video');
    const camera = new LocalCamera(async () => new FakeStream([audio, oldVideo]) as unknown as MediaStream);
    await camera.acquire();
    camera.setCamera(false);
    const next = new FakeTrack('video');
    const made = (tracks: MediaStreamTrack[]) => new FakeStream(tracks as unknown as FakeTrack[]) as unknown as MediaStream;
    expect(camera.replaceVideoTrack(next as unknown as MediaStreamTrack, made)).toBe(true);
    expect(oldVideo.readyState).toBe('ended');
    expect(camera.stream?.getTracks()).toEqual([audio, next]);
    expect(next.enabled).toBe(false); // the camera toggle holds for the new camera

    const t = await inCall();
    const replaced: unknown[] = [];
    Object.assign(t.pc(), { getSenders: () => [{ track: { kind: 'video' }, replaceTrack: async (tr: unknown) => void replaced.push(tr) }] });
    expect(await t.controller.replaceTrack(next as unknown as MediaStreamTrack)).toBe(true);
    expect(replaced).toEqual([next]);
  });
});
