// Issue 24 on the controller: the last call's partner stays reportable for LAST_CALL_MS
// after the call ended, however it ended, and report / block name that call by the
// server's callId; words that match what happened (a partner gone before the call
// connected did not "skip"; a blip in a call raises no toast).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LAST_CALL_MS } from '../src/lib/lastCall';
import { flush, setup } from './fakes';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function inCall(callId = 'c-1', connected = true) {
  const t = setup();
  t.choices.update({ autoSearch: false });
  t.controller.start();
  t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [], callId, resume: 'ticket' });
  await flush();
  t.socket.serverSends('signal-offer', { offer: { type: 'offer', sdp: 'x' } });
  await flush();
  if (connected) t.pc().setConnectionState('connected');
  t.socket.clear();
  return t;
}

const ENDINGS: Array<[string, (t: Awaited<ReturnType<typeof inCall>>) => void]> = [
  ['partner skipped', (t) => t.socket.serverSends('partner-left', { reason: 'next' })],
  ['partner left', (t) => t.socket.serverSends('partner-left', { reason: 'leave' })],
  ['partner disconnected', (t) => t.socket.serverSends('partner-disconnected', {})],
  ['I skipped', (t) => t.controller.next()],
  ['I stopped', (t) => t.controller.stop()],
  ['the call failed', (t) => t.pc().setConnectionState('failed')],
];

describe('the last call', () => {
  it.each(ENDINGS)('%s: the partner is offered for report, by the call id, until LAST_CALL_MS', async (how, end) => {
    const t = await inCall('c-1', how !== 'the call failed'); // it failed to connect
    expect(t.state().moderationTarget).toMatchObject({ name: 'Ann', serverCallId: 'c-1', endedAt: null });
    end(t);
    await flush();
    expect(t.state().call.phase).not.toBe('matched');
    expect(t.state().moderationTarget).toMatchObject({ name: 'Ann', serverCallId: 'c-1', endedAt: expect.any(Number) });
    vi.advanceTimersByTime(LAST_CALL_MS - 1);
    expect(t.state().moderationTarget?.name).toBe('Ann');
    vi.advanceTimersByTime(1);
    expect(t.state().moderationTarget).toBeNull();
    expect(t.controller.report('nudity')).toBe(false);
  });

  it('report and block after the call send the call id', async () => {
    const t = await inCall('c-7');
    t.socket.serverSends('partner-left', { reason: 'next' });
    const callSeq = t.state().moderationTarget!.callSeq;
    expect(t.controller.report('spam', ' rude ', callSeq)).toBe(true);
    expect(t.socket.last('report-partner')).toEqual({ reason: 'spam', note: 'rude', callId: 'c-7' });
    expect(t.state().moderationTarget).toBeNull();

    const u = await inCall('c-8');
    u.controller.stop();
    expect(u.controller.block(u.state().moderationTarget!.callSeq)).toBe(true);
    expect(u.socket.last('block-partner')).toEqual({ callId: 'c-8' });
  });

  it('a new match replaces the last call, and its timer does not clear the new partner', async () => {
    const t = await inCall('c-1');
    t.socket.serverSends('partner-left', { reason: 'next' });
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Bea', iceServers: [], callId: 'c-2', resume: 'r' });
    await flush();
    expect(t.state().moderationTarget).toMatchObject({ name: 'Bea', serverCallId: 'c-2', endedAt: null });
    vi.advanceTimersByTime(LAST_CALL_MS * 2);
    expect(t.state().moderationTarget?.name).toBe('Bea');
  });

  it('a report opened for the last call is still sent after a new match, and the new call goes on', async () => {
    const t = await inCall('c-1');
    t.socket.serverSends('partner-left', { reason: 'next' });
    const forAnn = t.state().moderationTarget!.callSeq; // the dialog opens for Ann
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Bea', iceServers: [], callId: 'c-2', resume: 'r' });
    await flush();
    expect(t.controller.report('harassment', '', forAnn)).toBe(true);
    expect(t.socket.last('report-partner')).toEqual({ reason: 'harassment', callId: 'c-1' });
    expect(t.call()).toMatchObject({ phase: 'matched', partnerName: 'Bea' });
    expect(t.state().moderationTarget?.name).toBe('Bea');
    expect(t.controller.report('harassment', '', forAnn)).toBe(false); // once
  });

  it('a server without call ids (the seed) gets the bare events', async () => {
    const t = setup();
    t.controller.start();
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [] });
    await flush();
    t.socket.serverSends('partner-left', { reason: 'next' });
    expect(t.controller.block()).toBe(true);
    expect(t.socket.sent.find((s) => s.event === 'block-partner')?.data).toBeUndefined();
  });
});

describe('words that match what happened', () => {
  it('a partner who leaves a call that never connected did not skip anyone', async () => {
    const t = await inCall('c-1', false);
    t.socket.serverSends('partner-left', { reason: 'next' });
    expect(t.notice()).toMatch(/left before the call connected/);
    expect(t.notice()).not.toMatch(/skipped/);
  });

  it('a partner who skips a connected call skipped', async () => {
    const t = await inCall('c-1', true);
    t.socket.serverSends('partner-left', { reason: 'next' });
    expect(t.notice()).toMatch(/skipped/);
  });

  it('a signaling blip in a call raises no toast, only the link state', async () => {
    const t = await inCall();
    t.socket.connected = false;
    t.socket.serverSends('disconnect', 'transport close');
    expect(t.state().link).toBe('reconnecting');
    t.socket.serverSends('connect_error', new Error('websocket error'));
    expect(t.state().toast).toBeNull();
    expect(t.state().call.phase).toBe('matched');
  });
});
