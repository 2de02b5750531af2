// Issue 24: "Hide my IP" must not be a false promise. The badge shows only when
// the selected candidate pair is relayed on both sides in a relay-only call;
// the box is offered only where the server says a relay-only call can happen.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fetchPrivacyMode, privacyOffered, privacyReasonKey, privacyUnavailable, readPrivacyMode } from '../src/lib/privacyMode';
import { ipHidden, relayedBothWays } from '../src/lib/stats';
import { flush, setup } from './fakes';

type Stat = Record<string, unknown>;

/** A getStats() report (Chromium's shape: the transport names the selected pair). */
function report(local: string, remote: string, extra: Stat[] = []): Map<string, Stat> {
  const stats: Stat[] = [
    { id: 't', type: 'transport', selectedCandidatePairId: 'p' },
    { id: 'p', type: 'candidate-pair', localCandidateId: 'l', remoteCandidateId: 'r', state: 'succeeded' },
    { id: 'l', type: 'local-candidate', candidateType: local },
    { id: 'r', type: 'remote-candidate', candidateType: remote },
    ...extra,
  ];
  return new Map(stats.map((s) => [s.id as string, s]));
}

describe('the "IP hidden" badge rule', () => {
  it('holds only for a relay-only call whose selected pair is relay on both sides', () => {
    expect(ipHidden('relay', relayedBothWays(report('relay', 'relay')))).toBe(true);
    expect(ipHidden('relay', relayedBothWays(report('relay', 'host')))).toBe(false); // the partner is not relayed
    expect(ipHidden('relay', relayedBothWays(report('host', 'relay')))).toBe(false);
    expect(ipHidden('relay', relayedBothWays(report('srflx', 'prflx')))).toBe(false);
    // a relayed pair in an ordinary call: our host candidates went out by signaling
    expect(ipHidden('all', relayedBothWays(report('relay', 'relay')))).toBe(false);
    // the policy alone is no proof: no reading yet, or no selected pair
    expect(ipHidden('relay', null)).toBe(false);
    expect(ipHidden('relay', undefined)).toBe(false);
    expect(relayedBothWays(new Map())).toBe(false);
  });

  it('finds the pair as Firefox reports it too (pair.selected, no transport)', () => {
    const firefox = new Map<string, Stat>([
      ['p1', { id: 'p1', type: 'candidate-pair', localCandidateId: 'l1', remoteCandidateId: 'r1', selected: false }],
      ['p2', { id: 'p2', type: 'candidate-pair', localCandidateId: 'l2', remoteCandidateId: 'r2', selected: true }],
      ['l1', { id: 'l1', type: 'local-candidate', candidateType: 'relay' }],
      ['r1', { id: 'r1', type: 'remote-candidate', candidateType: 'relay' }],
      ['l2', { id: 'l2', type: 'local-candidate', candidateType: 'relay' }],
      ['r2', { id: 'r2', type: 'remote-candidate', candidateType: 'host' }],
    ]);
    expect(relayedBothWays(firefox)).toBe(false); // the selected pair, not any relayed one
  });

  describe('in a call', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('follows getStats() while connected, not match-found alone', async () => {
      const t = setup();
      t.controller.start();
      t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [], iceTransportPolicy: 'relay', callId: 'c', resume: 'x.y' });
      await flush();
      const pc = t.pc();
      for (const [k, v] of report('relay', 'host')) pc.stats.set(k, v);
      pc.setConnectionState('connected');
      expect(t.matched().iceTransportPolicy).toBe('relay');
      expect(ipHidden(t.matched().iceTransportPolicy, t.matched().relayed)).toBe(false); // no reading yet
      vi.advanceTimersByTime(1000);
      await flush();
      expect(t.matched().relayed).toBe(false);
      for (const [k, v] of report('relay', 'relay')) pc.stats.set(k, v);
      vi.advanceTimersByTime(2000);
      await flush();
      expect(t.matched().relayed).toBe(true);
      expect(ipHidden(t.matched().iceTransportPolicy, t.matched().relayed)).toBe(true);
    });
  });
});

describe('whether "Hide my IP" is offered', () => {
  it('reads GET /api/rules `privacy`', () => {
    expect(readPrivacyMode({ version: 'ab', privacy: 'available' })).toBe('available');
    expect(readPrivacyMode({ privacy: 'no-turn' })).toBe('no-turn');
    expect(readPrivacyMode({ privacy: 'always' })).toBe('always');
    expect(readPrivacyMode({ privacy: 'off' })).toBe('off');
    expect(readPrivacyMode({ version: 'ab' })).toBe('unknown'); // a server that does not say
    expect(readPrivacyMode({ privacy: 'yes' })).toBe('unknown');
    expect(readPrivacyMode(null)).toBe('unknown');
  });

  it('is offered only where a request makes the call relay-only, and says why not elsewhere', () => {
    expect(privacyOffered('available')).toBe(true);
    expect(privacyReasonKey('available')).toBeNull();
    for (const choice of ['always', 'no-turn', 'off', 'loading', 'unknown'] as const) {
      expect(privacyOffered(choice), choice).toBe(false);
      expect(privacyReasonKey(choice), choice).not.toBeNull();
    }
    expect(privacyReasonKey('no-turn')).toBe('controls.privacyNoTurn');
    // a remembered choice is dropped where it cannot be kept, kept while asking
    expect(['no-turn', 'off', 'unknown'].map((c) => privacyUnavailable(c as 'off'))).toEqual([true, true, true]);
    expect(['available', 'always', 'loading'].map((c) => privacyUnavailable(c as 'off'))).toEqual([false, false, false]);
  });

  it('counts a failed request as unknown, never as available', async () => {
    const down = (() => Promise.reject(new Error('offline'))) as unknown as typeof fetch;
    expect(await fetchPrivacyMode(down)).toBe('unknown');
    const error = (async () => new Response('no', { status: 500 })) as unknown as typeof fetch;
    expect(await fetchPrivacyMode(error)).toBe('unknown');
    const ok = (async () => new Response(JSON.stringify({ privacy: 'no-turn' }), { status: 200 })) as unknown as typeof fetch;
    expect(await fetchPrivacyMode(ok)).toBe('no-turn');
  });
});
