// A call's own data lives in its Matched state (callState.ts): the resume wait,
// the partner's media-state, whether the partner was told ours, whom Report
// applies to. Leaving the state, however it is left, lets all of it go; nothing
// of one call leaks into the next.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Matched } from '../src/lib/callState';
import { RESUME_TIMEOUT_MS } from '../src/lib/recovery';
import { flush, setup } from './fakes';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type T = ReturnType<typeof setup>;

/** A connected call with everything a call can gather: partner media, and a resume under way. */
async function fullCall(): Promise<{ t: T; call: Matched }> {
  const t = setup();
  t.controller.start();
  t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Ann', iceServers: [], callId: 'c-1', resume: 'ticket' });
  await flush();
  t.pc().setConnectionState('connected');
  t.socket.serverSends('media-state', { video: false, audio: true });
  // a server restart: the page asks for the call back and waits for call-resumed
  t.socket.connected = false;
  t.socket.serverSends('disconnect', 'transport close');
  t.socket.connected = true;
  Object.assign(t.socket, { recovered: false });
  t.socket.serverSends('connect');
  const call = t.matched();
  expect(call.everConnected).toBe(true);
  expect(call.partnerMedia).toEqual({ video: false, audio: true });
  expect(t.state().partnerMedia).toEqual({ video: false, audio: true });
  expect(call.resume?.waiting).toBe(true);
  expect(t.state().link).toBe('resuming');
  expect(t.state().moderationTarget).toMatchObject({ name: 'Ann', serverCallId: 'c-1', endedAt: null });
  t.socket.clear();
  return { t, call };
}

const WAYS_OUT: Array<[string, (t: T) => void, 'searching' | 'banned']> = [
  ['Next', (t) => t.controller.next(), 'searching'],
  ['partner-left', (t) => t.socket.serverSends('partner-left', { reason: 'next' }), 'searching'],
  ['banned', (t) => t.socket.serverSends('banned', { until: 2_000_000, reason: 'x' }), 'banned'],
];

describe('leaving Matched lets the call’s own data go', () => {
  it.each(WAYS_OUT)('%s: the resume wait, the partner media and the target go with the call', async (_, leave, phase) => {
    const { t, call } = await fullCall();
    leave(t);
    expect(t.call().phase).toBe(phase);
    expect(call.resume?.waiting).toBe(false);
    expect(call.session?.closed).toBe(true);
    expect(t.state().link).toBe('online');
    expect(t.state().partnerMedia).toBeNull();
    if (phase === 'banned') expect(t.state().moderationTarget).toBeNull();
    else expect(t.state().moderationTarget).toMatchObject({ name: 'Ann', callSeq: call.callSeq, endedAt: expect.any(Number) });
    // the resume wait of the call that ended never fires: nothing more is said or sent
    const sent = t.socket.events().length;
    const chat = t.state().chat.lines.length;
    vi.advanceTimersByTime(RESUME_TIMEOUT_MS * 2);
    expect(t.socket.events().slice(sent).filter((e) => e !== 'heartbeat')).toEqual([]);
    expect(t.state().chat.lines.length).toBe(chat);
    expect(t.call().phase).toBe(phase);
  });

  it.each(WAYS_OUT.filter(([, , phase]) => phase === 'searching'))('%s: the next call starts with none of it', async (_, leave) => {
    const { t, call } = await fullCall();
    leave(t);
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bea', iceServers: [], callId: 'c-2', resume: 'ticket-2' });
    await flush();
    const next = t.matched();
    expect(next.callSeq).toBe(call.callSeq + 1);
    expect(next.partnerMedia).toBeNull();
    expect(t.state().partnerMedia).toBeNull();
    expect(next.everConnected).toBe(false);
    expect(next.resume?.ticket).toEqual({ callId: 'c-2', resume: 'ticket-2' });
    expect(next.resume?.waiting).toBe(false);
    expect(t.state().moderationTarget).toMatchObject({ name: 'Bea', callSeq: next.callSeq, serverCallId: 'c-2', endedAt: null });
    // the new partner is told what we send when this call connects, not before
    t.socket.clear();
    t.controller.setLocalMedia({ video: false, audio: true });
    expect(t.socket.events()).not.toContain('media-state');
    t.pc().setConnectionState('connected');
    expect(t.socket.last('media-state')).toEqual({ video: false, audio: true });
  });
});
