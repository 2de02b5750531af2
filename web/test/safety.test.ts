// Issue 15 on the page: rules, proof of work, session errors, modes, media
// state, safe view and the classifier's sampler.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChallenge } from 'altcha-lib';
import { createChallenge as createChallengeV1, verifySolution as verifyV1 } from 'altcha-lib/v1';
import { deriveKey } from 'altcha-lib/algorithms/web/sha';
import { isNudity, scoresOf, testClassifier, type FrameClassifier, type Verdict } from '../src/lib/classifier';
import { FrameSampler } from '../src/lib/frameSampler';
import { describePartnerMedia, isStalled, parseMediaState, partnerVideoStatus } from '../src/lib/mediaState';
import { hasCameraTrack, videoBlocker } from '../src/lib/mode';
import { fetchAndSolve } from '../src/lib/pow';
import { parseChallenge } from '../src/lib/powChallenge';
import { solve } from '../src/lib/powSolve';
import { paragraphs, parseRules, readParagraph, rememberAccepted, wasAccepted } from '../src/lib/rules';
import { startVeil, veil, type Veil } from '../src/lib/safeview';
import { createSession, SessionError } from '../src/lib/session';
import { FakeStream, FakeTrack, flush, setup } from './fakes';

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
}

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return { status, ok: status >= 200 && status < 300, json: async () => body, headers: new Headers(headers) } as unknown as Response;
}

describe('rules', () => {
  it('reads GET /api/rules and refuses what is not one', () => {
    expect(parseRules({ version: 'abcdef012345', text: 'Be kind.', minimumAge: 18, nicknames: false })).toEqual({
      version: 'abcdef012345',
      text: 'Be kind.',
      minimumAge: 18,
      nicknames: false,
    });
    expect(parseRules({ version: 'abcdef012345', text: 'x' })).toMatchObject({ minimumAge: 18, nicknames: true });
    expect(parseRules({ version: '<script>', text: 'x' })).toBeNull();
    expect(parseRules({ version: 'abc', text: 5 })).toBeNull();
    expect(parseRules(null)).toBeNull();
    expect(parseRules({ version: 'abc', text: 'x'.repeat(50_000) })!.text).toHaveLength(20_000);
  });

  it('remembers acceptance per version', () => {
    const s = memoryStorage();
    expect(wasAccepted(s, 'v1')).toBe(false);
    rememberAccepted(s, 'v1');
    expect(wasAccepted(s, 'v1')).toBe(true);
    expect(wasAccepted(s, 'v2')).toBe(false); // a changed text is accepted again
  });

  it('reads headings and bold runs as data (never HTML)', () => {
    expect(readParagraph('# Before you start')).toEqual({ heading: true, runs: [{ text: 'Before you start', strong: false }] });
    expect(readParagraph('1. **You are 18.** Minors <b>not</b> allowed')).toEqual({
      heading: false,
      runs: [
        { text: '1. ', strong: false },
        { text: 'You are 18.', strong: true },
        { text: ' Minors <b>not</b> allowed', strong: false },
      ],
    });
  });

  it('splits the text into paragraphs', () => {
    expect(paragraphs('# Rules\n\n1. Be kind\n2. No nudity\n\n\n  Last  ')).toEqual(['# Rules', '1. Be kind\n2. No nudity', 'Last']);
  });
});

describe('POST /api/session', () => {
  it('sends the rules version and answers each refusal by its code', async () => {
    const bodies: unknown[] = [];
    const fetchFn = (answer: Response) =>
      (async (_url: string, init: RequestInit) => {
        bodies.push(JSON.parse(String(init.body)));
        return answer;
      }) as unknown as typeof fetch;
    await createSession(' Ann ', fetchFn(reply(201, { token: 'T', username: 'Ann' })), { rulesVersion: 'abc' });
    expect(bodies).toEqual([{ username: 'Ann', rulesVersion: 'abc' }]);

    const refused = async (status: number, body: unknown, headers?: Record<string, string>) => {
      try {
        await createSession('Ann', fetchFn(reply(status, body, headers)), { rulesVersion: 'abc' });
      } catch (err) {
        return err as SessionError;
      }
      throw new Error('not refused');
    };
    const banned = await refused(403, { detail: 'You are banned.', code: 'banned', until: 1_700_000_000_000, reason: 'reported' });
    expect(banned.code).toBe('banned');
    expect(banned.ban).toEqual({ until: 1_700_000_000_000, reason: 'reported' });
    expect((await refused(403, { detail: 'x', code: 'banned', until: null, reason: '' })).ban).toEqual({ until: NaN, reason: 'No reason given' });
    const outdated = await refused(400, { detail: 'Accept the rules', code: 'rules-not-accepted', rulesVersion: 'def' });
    expect([outdated.code, outdated.rulesVersion]).toEqual(['rules-not-accepted', 'def']);
    expect((await refused(400, { detail: 'That name is not allowed', code: 'name-refused' })).code).toBe('name-refused');
    const limited = await refused(429, { code: 'rate-limited' }, { 'Retry-After': '30' });
    expect([limited.code, limited.message]).toEqual(['rate-limited', 'Too many attempts. Try again in 30 s.']);
    // pow-required without a solver is an error, not a loop
    expect((await refused(403, { detail: 'Solve this', code: 'pow-required' })).code).toBe('pow-required');
    // an unknown code is not trusted as a known one
    expect((await refused(403, { detail: 'x', code: 'make-admin' })).code).toBe('other');
  });

  it('pow-required: solves once and retries with the altcha payload', async () => {
    const sent: any[] = [];
    const answers = [reply(403, { detail: 'Please solve', code: 'pow-required' }), reply(201, { token: 'T2', username: 'Bo' })];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      sent.push(JSON.parse(String(init.body)));
      return answers.shift()!;
    }) as unknown as typeof fetch;
    const solvePow = vi.fn(async () => 'PAYLOAD');
    await expect(createSession('Bo', fetchFn, { rulesVersion: 'v', solvePow })).resolves.toMatchObject({ token: 'T2' });
    expect(solvePow).toHaveBeenCalledTimes(1);
    expect(sent).toEqual([{ username: 'Bo', rulesVersion: 'v' }, { username: 'Bo', rulesVersion: 'v', altcha: 'PAYLOAD' }]);
  });

  it('a second pow-required after solving is an error', async () => {
    const fetchFn = (async () => reply(403, { detail: 'Again', code: 'pow-invalid' })) as unknown as typeof fetch;
    await expect(createSession('Bo', fetchFn, { solvePow: async () => 'P' })).rejects.toMatchObject({ code: 'pow-invalid' });
  });
});

describe('proof of work (altcha-lib)', () => {
  it('solves a real v1 challenge in chunks that the v1 verifier accepts', async () => {
    const key = 'test-hmac-key';
    const challenge = await createChallengeV1({ hmacKey: key, maxNumber: 20_000, number: 12_345 });
    const parsed = parseChallenge(challenge);
    expect(parsed?.v).toBe(1);
    const progress: Array<number | null> = [];
    const payload = await solve(parsed!, (f) => progress.push(f));
    expect(payload).toBeTruthy();
    expect(await verifyV1(payload!, key)).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(2); // two chunks of 5000 before 12345
    expect(progress.every((f) => f !== null && f > 0 && f <= 1)).toBe(true);
  });

  it('solves a real v2 challenge (the Python package default)', async () => {
    const challenge = await createChallenge({ algorithm: 'SHA-256', cost: 1, keyPrefix: '0', deriveKey, hmacSignatureSecret: 'k' });
    const parsed = parseChallenge(JSON.parse(JSON.stringify(challenge)));
    expect(parsed?.v).toBe(2);
    const payload = JSON.parse(atob((await solve(parsed!))!));
    expect(payload.challenge).toEqual(JSON.parse(JSON.stringify(challenge)));
    expect(payload.solution.derivedKey.startsWith('0')).toBe(true);
  });

  it('refuses challenges it should not try', () => {
    expect(parseChallenge({ algorithm: 'SHA-256', challenge: 'a', salt: 's', signature: 'x', maxnumber: 1e12 })).toBeNull();
    expect(parseChallenge({ algorithm: 'MD5', challenge: 'a', salt: 's', signature: 'x' })).toBeNull();
    expect(parseChallenge({ parameters: { algorithm: 'ARGON2ID', nonce: 'a', salt: 'b', keyPrefix: '0' } })).toBeNull();
    expect(parseChallenge('nope')).toBeNull();
  });

  it('fetchAndSolve reads GET /api/altcha and hands the payload on', async () => {
    const challenge = await createChallengeV1({ hmacKey: 'k', maxNumber: 100, number: 7 });
    const fetchFn = (async (url: string) => {
      expect(url).toBe('/api/altcha');
      return reply(200, challenge);
    }) as unknown as typeof fetch;
    const steps: Array<number | null> = [];
    const payload = await fetchAndSolve((f) => steps.push(f), fetchFn);
    expect(JSON.parse(atob(payload))).toMatchObject({ number: 7, salt: challenge.salt });
    expect(steps[0]).toBe(0);
    await expect(fetchAndSolve(() => {}, (async () => reply(500, {})) as unknown as typeof fetch)).rejects.toThrow(/check from the server/);
  });
});

describe('modes', () => {
  it('a video search needs a live camera track', () => {
    const live = new FakeStream([new FakeTrack('video')]) as unknown as MediaStream;
    const audioOnly = new FakeStream([new FakeTrack('audio')]) as unknown as MediaStream;
    expect(hasCameraTrack(live)).toBe(true);
    expect(hasCameraTrack(audioOnly)).toBe(false);
    expect(hasCameraTrack(null)).toBe(false);
    expect(videoBlocker({ stream: live, busy: false, error: null })).toBeNull();
    expect(videoBlocker({ stream: null, busy: false, error: 'Camera access was blocked.' })).toMatch(/needs your camera.*blocked.*text chat/);
  });
});

describe('controller: modes and media state', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('text mode: find-partner carries mode, no peer connection, chat works', async () => {
    const t = setup();
    t.choices.update({ mode: 'text' });
    t.controller.start();
    expect(t.socket.last('find-partner')).toEqual({ mode: 'text' });
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Tex', iceServers: [], mode: 'text' });
    await flush();
    expect(t.pcs).toHaveLength(0);
    expect(t.matched()).toMatchObject({ mode: 'text', session: null, partnerName: 'Tex' });
    expect(t.socket.events()).not.toContain('signal-offer');
    expect(t.controller.sendChat('hi')).toEqual({ ok: true });
    t.controller.next();
    expect(t.socket.last('next')).toEqual({ mode: 'text' });
    t.controller.stop();
    expect(t.call().phase).toBe('idle');
  });

  it('a text match-found never makes a peer connection, even for a video searcher', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Tex', iceServers: [], mode: 'text' });
    await flush();
    expect(t.pcs).toHaveLength(0);
  });

  it('media-state: sent when the call connects and on every change, the partner’s shown', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [] });
    await flush();
    t.controller.setLocalMedia({ video: false, audio: true }); // before media flows: kept for later
    expect(t.socket.events()).not.toContain('media-state');
    t.pc().setConnectionState('connected');
    expect(t.socket.last('media-state')).toEqual({ video: false, audio: true });
    t.controller.setLocalMedia({ video: false, audio: true }); // no change, nothing sent
    t.controller.setLocalMedia({ video: true, audio: false });
    expect(t.socket.sent.filter((s) => s.event === 'media-state').map((s) => s.data)).toEqual([
      { video: false, audio: true },
      { video: true, audio: false },
    ]);
    t.socket.serverSends('media-state', { video: false, audio: true });
    expect(t.state().partnerMedia).toEqual({ video: false, audio: true });
    t.socket.serverSends('media-state', { video: 'no' }); // malformed: ignored
    expect(t.state().partnerMedia).toEqual({ video: false, audio: true });
    // a new match forgets the last partner's state
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Cid', iceServers: [] });
    await flush();
    expect(t.state().partnerMedia).toBeNull();
  });
});

describe('partner media state', () => {
  it('camera off from the event, paused from what arrives', () => {
    expect(parseMediaState({ video: false, audio: true })).toEqual({ video: false, audio: true });
    expect(parseMediaState({ video: 1, audio: true })).toBeNull();
    const flowing = { trackMuted: false, stalled: false };
    expect(partnerVideoStatus(null, flowing)).toBeNull();
    expect(partnerVideoStatus({ video: false, audio: true }, flowing)).toBe('Camera off');
    expect(partnerVideoStatus({ video: true, audio: true }, { trackMuted: true, stalled: false })).toBe('Video paused');
    expect(partnerVideoStatus(null, { trackMuted: false, stalled: true })).toBe('Video paused');
    expect(describePartnerMedia('Ann', { video: false, audio: false }, 'Camera off')).toBe('Ann turned the camera off. Ann is muted.');
    expect(isStalled(null, 10_000)).toBe(false); // no frame yet is not a stall
    expect(isStalled(1000, 3000)).toBe(false);
    expect(isStalled(1000, 4000)).toBe(true);
  });
});

describe('safe view', () => {
  it('blurred until revealed; nudity blurs again once per episode', () => {
    let v: Veil = startVeil(true);
    expect(v.revealed).toBe(false);
    v = veil(v, { type: 'reveal' });
    expect(v.revealed).toBe(true);
    v = veil(v, { type: 'verdict', nudity: false });
    expect(v).toMatchObject({ revealed: true, flagged: false, lastNude: false });
    v = veil(v, { type: 'verdict', nudity: true });
    expect(v).toMatchObject({ revealed: false, flagged: true, lastNude: true });
    v = veil(v, { type: 'reveal' }); // the user chose to look
    v = veil(v, { type: 'verdict', nudity: true });
    expect(v.revealed).toBe(true); // not blurred over and over
    v = veil(v, { type: 'verdict', nudity: false });
    v = veil(v, { type: 'verdict', nudity: true });
    expect(v.revealed).toBe(false); // a new episode blurs again
    expect(veil(v, { type: 'new-call', safeView: true })).toEqual(startVeil(true));
    expect(startVeil(false).revealed).toBe(true);
    // turning safe view off does not reveal a flagged video
    expect(veil({ revealed: false, flagged: true, lastNude: true }, { type: 'setting', safeView: false }).revealed).toBe(false);
    expect(veil(startVeil(true), { type: 'setting', safeView: false }).revealed).toBe(true);
  });

  it('nudity is decided by the explicit classes', () => {
    expect(isNudity(scoresOf([{ className: 'Porn', probability: 0.5 }, { className: 'Hentai', probability: 0.15 }]))).toBe(true);
    expect(isNudity(scoresOf([{ className: 'Sexy', probability: 0.9 }, { className: 'Porn', probability: 0.05 }]))).toBe(false);
    expect(isNudity(scoresOf([{ className: 'Neutral', probability: 0.99 }]))).toBe(false);
  });

  it('the test-only hook replaces the model and closes the frames', async () => {
    expect(testClassifier(undefined)).toBeNull();
    const frame = { close: vi.fn() } as unknown as ImageBitmap;
    const double = testClassifier({ classify: () => ({ nudity: true }) })!;
    await expect(double.classify(frame)).resolves.toMatchObject({ nudity: true });
    expect((frame as unknown as { close: () => void }).close).toHaveBeenCalled();
  });
});

describe('frame sampler', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function frame() {
    return { close: vi.fn() } as unknown as ImageBitmap;
  }

  it('one frame a second at most, never two in flight, with its figures', async () => {
    let now = 0;
    let inFlight = 0;
    let most = 0;
    const answers: Array<(v: Verdict) => void> = [];
    const classifier: FrameClassifier = {
      classify: () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        return new Promise((resolve) => answers.push((v) => (inFlight--, resolve(v))));
      },
      dispose: () => {},
    };
    const verdicts: Verdict[] = [];
    const sampler = new FrameSampler({
      classifier,
      grab: async () => frame(),
      onVerdict: (v) => verdicts.push(v),
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
      now: () => now,
      intervalMs: 1000,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(answers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000); // a slow classifier: no second frame meanwhile
    expect(answers).toHaveLength(1);
    now = 1500;
    answers[0]({ nudity: false, scores: {}, ms: 120 });
    await vi.advanceTimersByTimeAsync(0); // took longer than the interval: the next at once
    expect(answers).toHaveLength(2);
    now = 1600;
    answers[1]({ nudity: true, scores: {}, ms: 80 });
    await vi.advanceTimersByTimeAsync(500);
    expect(answers).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(answers).toHaveLength(3);
    expect(most).toBe(1);
    expect(verdicts.map((v) => v.nudity)).toEqual([false, true]);
    expect(sampler.getStats()).toMatchObject({ frames: 2, busyMs: 200, firstVerdictMs: 1500 });
    sampler.stop();
    answers[2]({ nudity: true, scores: {}, ms: 1 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(verdicts).toHaveLength(2); // nothing after stop
    expect(answers).toHaveLength(3);
  });

  it('a slow classifier is given at most a quarter of the time', async () => {
    let now = 0;
    let calls = 0;
    const sampler = new FrameSampler({
      classifier: {
        classify: async () => {
          calls += 1;
          now += 600; // each frame takes 600 ms
          return { nudity: false, scores: {}, ms: 600 };
        },
        dispose: () => {},
      },
      grab: async () => frame(),
      onVerdict: () => {},
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
      now: () => now,
      intervalMs: 1000,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1799); // 2400 ms after the start of the first, less its 600 ms
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    sampler.stop();
  });

  it('no frame yet: tries again later; errors are counted, not thrown, and back off', async () => {
    let calls = 0;
    const sampler = new FrameSampler({
      classifier: { classify: async () => Promise.reject(new Error('model failed')), dispose: () => {} },
      grab: async () => (++calls === 1 ? null : frame()),
      onVerdict: () => {},
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
      now: () => 0,
      intervalMs: 1000,
    });
    await vi.advanceTimersByTimeAsync(1000); // no frame at 0, a failure at 1000
    expect(calls).toBe(2);
    expect(sampler.getStats()).toMatchObject({ frames: 0, errors: 1, lastError: 'model failed' });
    await vi.advanceTimersByTimeAsync(1999); // backs off: 2 s after one failure
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    await vi.advanceTimersByTimeAsync(3999); // then 4 s
    expect(calls).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(4);
    sampler.stop();
  });
});
