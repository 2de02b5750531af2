import { describe, expect, it } from 'vitest';
import { selectedPairInfo } from '../src/lib/stats';
import { describeMediaError, openCamera, MediaAccessError } from '../src/lib/media';
import { shortcutFor } from '../src/lib/shortcuts';
import { clearSession, createSession, expiryMs, loadDevice, loadSession, saveSession, validateNickname, type StorageLike } from '../src/lib/session';
import { PeerRegistry } from '../src/lib/peerRegistry';

function report(entries: any[]) {
  return new Map(entries.map((e) => [e.id, e]));
}

describe('selectedPairInfo', () => {
  it('uses the transport selectedCandidatePairId (Chromium)', () => {
    const r = report([
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', nominated: true, state: 'succeeded', currentRoundTripTime: 0.5 },
      { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', currentRoundTripTime: 0.0456 },
      { id: 'L1', type: 'local-candidate', candidateType: 'host' },
      { id: 'L2', type: 'local-candidate', candidateType: 'relay' },
    ]);
    expect(selectedPairInfo(r)).toEqual({ candidateType: 'relay', rttMs: 45.6 });
  });
  it('falls back to pair.selected (Firefox) and to nominated+succeeded', () => {
    expect(selectedPairInfo(report([
      { id: 'P', type: 'candidate-pair', selected: true, localCandidateId: 'L' },
      { id: 'L', type: 'local-candidate', candidateType: 'prflx' },
    ]))).toEqual({ candidateType: 'prflx', rttMs: null });
    expect(selectedPairInfo(report([
      { id: 'P', type: 'candidate-pair', nominated: true, state: 'succeeded', localCandidateId: 'L', currentRoundTripTime: 0.001 },
      { id: 'L', type: 'local-candidate', candidateType: 'host' },
    ]))).toEqual({ candidateType: 'host', rttMs: 1 });
  });
  it('returns null without a selected pair or with an unknown type', () => {
    expect(selectedPairInfo(report([{ id: 'P', type: 'candidate-pair', state: 'in-progress', localCandidateId: 'L' }]))).toBeNull();
    expect(selectedPairInfo(report([
      { id: 'P', type: 'candidate-pair', selected: true, localCandidateId: 'L' },
      { id: 'L', type: 'local-candidate', candidateType: 'weird' },
    ]))).toBeNull();
  });
});

describe('media errors', () => {
  it('has a clear message for each failure', () => {
    expect(describeMediaError({ name: 'NotAllowedError' })).toMatch(/blocked/);
    expect(describeMediaError({ name: 'NotFoundError' })).toMatch(/No camera or microphone/);
    expect(describeMediaError({ name: 'NotReadableError' })).toMatch(/in use/);
    expect(describeMediaError({ name: 'InsecureContext' })).toMatch(/https/);
  });
  it('refuses outside a secure context without calling getUserMedia', async () => {
    let called = false;
    const env = { isSecureContext: false, mediaDevices: { getUserMedia: async () => { called = true; return {} as MediaStream; } } };
    await expect(openCamera(env)).rejects.toBeInstanceOf(MediaAccessError);
    expect(called).toBe(false);
    await expect(openCamera({ isSecureContext: true })).rejects.toThrow(/secure page/);
  });
  it('wraps getUserMedia failures', async () => {
    const env = { isSecureContext: true, mediaDevices: { getUserMedia: async () => { throw Object.assign(new Error('x'), { name: 'NotReadableError' }); } } };
    await expect(openCamera(env)).rejects.toMatchObject({ code: 'NotReadableError', message: expect.stringMatching(/in use/) });
  });
});

describe('shortcuts', () => {
  it('N is Next and Escape is Stop', () => {
    expect(shortcutFor({ key: 'n', target: { tagName: 'BODY' } })).toBe('next');
    expect(shortcutFor({ key: 'N', target: { tagName: 'BUTTON' } })).toBe('next');
    expect(shortcutFor({ key: 'Escape', target: { tagName: 'BODY' } })).toBe('stop');
  });
  it('is ignored while typing, with modifiers, or on repeat', () => {
    expect(shortcutFor({ key: 'n', target: { tagName: 'INPUT', type: 'text' } })).toBeNull();
    expect(shortcutFor({ key: 'n', target: { tagName: 'TEXTAREA' } })).toBeNull();
    expect(shortcutFor({ key: 'n', target: { tagName: 'DIV', isContentEditable: true } })).toBeNull();
    expect(shortcutFor({ key: 'n', ctrlKey: true, target: { tagName: 'BODY' } })).toBeNull();
    expect(shortcutFor({ key: 'n', repeat: true, target: { tagName: 'BODY' } })).toBeNull();
    expect(shortcutFor({ key: 'n', target: { tagName: 'INPUT', type: 'checkbox' } })).toBe('next');
  });
});

class MemoryStorage implements StorageLike {
  map = new Map<string, string>();
  getItem(k: string) { return this.map.get(k) ?? null; }
  setItem(k: string, v: string) { this.map.set(k, v); }
  removeItem(k: string) { this.map.delete(k); }
}

describe('session', () => {
  it('reuses a token handed in through localStorage', () => {
    const s = new MemoryStorage();
    s.setItem('token', 'abc');
    expect(loadSession(s)).toEqual({ token: 'abc', username: null, expiresAt: null });
  });
  it('drops an expired token (expiresAt in Unix seconds)', () => {
    const s = new MemoryStorage();
    saveSession(s, { token: 't', username: 'A', expiresAt: '1000' });
    expect(loadSession(s, 2_000_000)).toBeNull();
    expect(s.getItem('token')).toBeNull();
    expect(expiryMs('1700000000')).toBe(1_700_000_000_000);
    expect(expiryMs('2030-01-01T00:00:00Z')).toBe(Date.parse('2030-01-01T00:00:00Z'));
  });
  it('validates nicknames like the server', () => {
    expect(validateNickname('   ')).toMatch(/enter/);
    expect(validateNickname('x'.repeat(33))).toMatch(/32/);
    expect(validateNickname('  Ann  ')).toBeNull();
    expect(validateNickname('\u{1f469}\u200d\u{1f4bb} Dana')).toBeNull(); // a ZWJ emoji
    expect(validateNickname('דנה\u200f')).toBeNull(); // Hebrew and an RLM
    expect(validateNickname('evil\u202etxt.exe')).toMatch(/direction overrides/);
    expect(validateNickname('a\u0007b')).toMatch(/control characters/);
  });
  it('shows the server detail on refusal', async () => {
    const fake = (status: number, body: unknown) => (async () => new Response(JSON.stringify(body), { status })) as typeof fetch;
    await expect(createSession('x', fake(422, { detail: 'username: too long' }))).rejects.toThrow('username: too long');
    await expect(createSession('x', fake(403, { detail: 'Guest sessions are disabled on this server' }))).rejects.toThrow(/disabled/);
    await expect(createSession('Ann', fake(201, { token: 'T', userId: 'u', username: 'Ann', expiresAt: 1700000000 }))).resolves.toEqual({ token: 'T', username: 'Ann', expiresAt: '1700000000', device: null });
    const down = (async () => { throw new TypeError('fetch failed'); }) as typeof fetch;
    await expect(createSession('x', down)).rejects.toThrow(/reach the server/);
  });
  it('sends the device key it keeps, and keeps it across Change', async () => {
    const s = new MemoryStorage();
    const sent: unknown[] = [];
    const server = (async (_url: string, init: RequestInit) => {
      sent.push(JSON.parse(String(init.body)));
      return new Response(JSON.stringify({ token: 'T', username: 'Ann', expiresAt: 1, device: 'K1' }), { status: 201 });
    }) as unknown as typeof fetch;
    saveSession(s, await createSession('Ann', server, { device: loadDevice(s) }));
    expect(sent[0]).toEqual({ username: 'Ann' });
    clearSession(s); // "Change"
    expect(loadDevice(s)).toBe('K1');
    await createSession('Bea', server, { device: loadDevice(s) });
    expect(sent[1]).toEqual({ username: 'Bea', device: 'K1' });
  });
});

describe('PeerRegistry', () => {
  it('counts connections that are not closed', () => {
    const reg = new PeerRegistry();
    const make = reg.wrap(() => ({ signalingState: 'stable' }) as RTCPeerConnection);
    const a = make({});
    make({});
    expect(reg.openCount()).toBe(2);
    (a as { signalingState: string }).signalingState = 'closed';
    expect(reg.openCount()).toBe(1);
    expect(reg.created).toBe(2);
  });
});
