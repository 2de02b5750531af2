// Issue 4 on the page: interests, text chat, typing, report/block, bans.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { prepareChatText } from '../src/lib/chat';
import { addInterests, normaliseInterest } from '../src/lib/interests';
import { isBotName } from '../src/lib/protocol';
import { banFromConnectError, formatTimeLeft, parseBan, validateReport } from '../src/lib/moderation';
import { flush, setup } from './fakes';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function inCall(opts: Parameters<typeof setup>[0] = {}, match: Record<string, unknown> = {}) {
  const t = setup(opts);
  t.controller.start();
  t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [], commonInterests: [], ...match });
  await flush();
  t.socket.clear();
  return t;
}

const texts = (t: ReturnType<typeof setup>) => t.state().chat.lines.map((l) => `${l.kind}:${l.text}${l.status ? ` [${l.status}]` : ''}`);

describe('interests', () => {
  it('are trimmed and lower-cased like the server; bad ones are named', () => {
    expect(normaliseInterest('  Jazz ')).toEqual({ ok: true, tag: 'jazz' });
    expect(normaliseInterest('   ')).toMatchObject({ ok: false });
    expect(normaliseInterest('x'.repeat(30))).toEqual({ ok: true, tag: 'x'.repeat(30) });
    const long = normaliseInterest('y'.repeat(31));
    expect(long.ok).toBe(false);
    expect(!long.ok && long.error).toMatch(/yyyy.*longer than 30/);
    expect(normaliseInterest('a\u0000b').ok).toBe(false);
    expect(normaliseInterest('tab\there').ok).toBe(false);
    // length counts code points, like Python: 30 emoji are fine
    expect(normaliseInterest('🎸'.repeat(30)).ok).toBe(true);
    expect(normaliseInterest('science fiction')).toEqual({ ok: true, tag: 'science fiction' });
  });

  it('are added from comma-separated text, without duplicates, at most 10', () => {
    expect(addInterests([], 'Music, chess,,MUSIC ')).toEqual({ interests: ['music', 'chess'], error: null });
    const ten = Array.from({ length: 10 }, (_, i) => `t${i}`);
    expect(addInterests(ten, 'one more')).toEqual({ interests: ten, error: 'At most 10 interests.' });
    expect(addInterests(ten, 't3')).toEqual({ interests: ten, error: null }); // a duplicate is not an 11th
    const r = addInterests(['a'], 'b, ' + 'z'.repeat(31) + ', c');
    expect(r.interests).toEqual(['a', 'b', 'c']);
    expect(r.error).toMatch(/longer than 30/);
  });

  it('go with find-partner and next, with strict; none means a plain search', async () => {
    const t = setup();
    t.controller.start();
    expect(t.socket.sent).toEqual([{ event: 'find-partner', data: undefined }]);
    t.controller.stop();
    t.socket.clear();
    t.choices.update({ interests: ['jazz', 'chess'] });
    t.choices.update({ strict: true });
    t.controller.start();
    expect(t.socket.sent).toEqual([{ event: 'find-partner', data: { interests: ['jazz', 'chess'], strict: true } }]);
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Ann', iceServers: [], commonInterests: ['jazz'] });
    await flush();
    expect(t.matched().commonInterests).toEqual(['jazz']);
    expect(t.state().chat.lines[0].text).toMatch(/Ann.*both like jazz/);
    t.choices.update({ strict: false });
    t.controller.next();
    expect(t.socket.last('next')).toEqual({ interests: ['jazz', 'chess'], strict: false });
  });

  it('a rate-limited search is retried with the same interests', () => {
    const t = setup();
    t.choices.update({ interests: ['jazz'] });
    t.controller.start();
    t.socket.serverSends('rate-limited', { message: 'Please wait before searching again', retryAfter: 500, event: 'find-partner' });
    vi.advanceTimersByTime(500);
    expect(t.socket.sent.map((s) => s.data)).toEqual([
      { interests: ['jazz'], strict: false },
      { interests: ['jazz'], strict: false },
    ]);
  });

  it('a search the server refuses (bad interest) goes back to idle with the message', () => {
    const t = setup();
    t.choices.update({ interests: ['ok'] });
    t.controller.start();
    t.socket.serverSends('error', { message: "find-partner: interest 'x' must be 1-30 printable characters", event: 'find-partner' });
    expect(t.call().phase).toBe('idle');
    expect(t.state().toast?.message).toMatch(/interest 'x'/);
  });
});

describe('chat', () => {
  it('sends {text, id}, shows the line as sending, then sent on the ack', async () => {
    const t = await inCall();
    expect(t.state().chat.open).toBe(true);
    expect(t.controller.sendChat('  hello  ')).toEqual({ ok: true });
    const sent = t.socket.last('chat-message');
    expect(sent).toEqual({ text: 'hello', id: expect.any(String) });
    expect(texts(t).at(-1)).toBe('own:hello [sending]');
    t.socket.serverSends('chat-message-ack', { id: sent.id });
    expect(texts(t).at(-1)).toBe('own:hello [sent]');
  });

  it('refuses empty or oversize text without sending', async () => {
    const t = await inCall();
    expect(t.controller.sendChat('   ')).toMatchObject({ ok: false });
    expect(t.controller.sendChat('x'.repeat(1001))).toMatchObject({ ok: false, error: expect.stringMatching(/1000/) });
    expect(t.socket.events()).toEqual([]);
    expect(prepareChatText('a\u0007b\nc')).toEqual({ ok: true, text: 'ab c' });
  });

  it('keeps the joiners and direction marks real text needs, drops bidi overrides', () => {
    const coder = '\u{1f469}\u200d\u{1f4bb}'; // woman technologist: a ZWJ sequence
    const scotland = '\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}'; // tag characters
    const mixed = 'שלום\u200f! ok\u200e'; // RLM and LRM
    const persian = 'می\u200cخواهم'; // ZWNJ
    for (const text of [coder, scotland, mixed, persian]) expect(prepareChatText(text)).toEqual({ ok: true, text });
    // overrides, embeddings and isolates that could reorder the text around a message
    expect(prepareChatText('a\u202eevil\u202c b\u2067c\u2069\u200b')).toEqual({ ok: true, text: 'aevil bc' });
  });

  it('shows partner messages in order with the server time', async () => {
    const t = await inCall();
    t.socket.serverSends('chat-message', { text: 'one', id: 1, sentAt: 1_700_000_000_000 });
    t.socket.serverSends('chat-message', { text: 'two', id: 2, sentAt: 1_700_000_000_500 });
    expect(texts(t).slice(1)).toEqual(['partner:one', 'partner:two']);
    expect(t.state().chat.lines[1].at).toBe(1_700_000_000_000);
  });

  it('a rate-limited message is failed (not relayed), the others are sent', async () => {
    const t = await inCall();
    t.controller.sendChat('a');
    t.controller.sendChat('b');
    t.controller.sendChat('c');
    const ids = t.socket.sent.filter((s) => s.event === 'chat-message').map((s) => (s.data as { id: string }).id);
    expect(new Set(ids).size).toBe(3);
    t.socket.serverSends('chat-message-ack', { id: ids[0] });
    t.socket.serverSends('rate-limited', { message: 'You are sending messages too fast', retryAfter: 200, event: 'chat-message', id: ids[1] });
    t.socket.serverSends('chat-message-ack', { id: ids[2] });
    expect(texts(t).slice(1)).toEqual(['own:a [sent]', 'own:b [failed]', 'own:c [sent]']);
    expect(t.state().chat.lines[2].error).toMatch(/too fast/);
    expect(t.state().toast).toMatchObject({ kind: 'rate-limit', message: expect.stringMatching(/too fast.*0\.2 s/) });
    // not taken for a search rate limit: nothing is retried
    vi.advanceTimersByTime(5000);
    expect(t.socket.events().filter((e) => e !== 'chat-message' && e !== 'typing' && e !== 'heartbeat')).toEqual([]);
  });

  it('a rate limit fails the message it names by id, even when an older one is still unanswered', async () => {
    const t = await inCall();
    t.controller.sendChat('first');
    t.controller.sendChat('second');
    const ids = t.socket.sent.filter((s) => s.event === 'chat-message').map((s) => (s.data as { id: string }).id);
    t.socket.serverSends('rate-limited', { message: 'slow', retryAfter: 200, event: 'chat-message', id: ids[1] });
    expect(texts(t).slice(1)).toEqual(['own:first [sending]', 'own:second [failed]']);
  });

  it('an error for chat-message fails the oldest pending message, without a toast', async () => {
    const t = await inCall();
    t.controller.sendChat('late');
    t.socket.serverSends('error', { message: 'chat-message: no partner to send it to', event: 'chat-message' });
    expect(texts(t).at(-1)).toBe('own:late [failed]');
    expect(t.state().chat.lines.at(-1)?.error).toMatch(/no partner/);
    expect(t.state().toast).toBeNull();
  });

  it('a message without an ack fails after a timeout, and on a lost connection', async () => {
    const t = await inCall({ chat: { ackTimeoutMs: 1000 } });
    t.controller.sendChat('lost');
    vi.advanceTimersByTime(1000);
    expect(texts(t).at(-1)).toBe('own:lost [failed]');
    t.controller.sendChat('cut');
    t.socket.connected = false;
    t.socket.serverSends('disconnect', 'io server disconnect');
    expect(t.state().chat.lines.find((l) => l.text === 'cut')?.status).toBe('failed');
    expect(t.state().chat.open).toBe(false);
  });

  it('is cleared on each new match; the end of a call is a system line', async () => {
    const t = await inCall();
    t.socket.serverSends('chat-message', { text: 'hi', id: 1, sentAt: 1 });
    t.socket.serverSends('partner-left', { reason: 'leave' });
    expect(texts(t).slice(1)).toEqual(['partner:hi', 'system:Ann left the chat.']);
    expect(t.state().chat.open).toBe(false);
    expect(t.controller.sendChat('anyone?')).toMatchObject({ ok: false });
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Bob', iceServers: [], commonInterests: [] });
    await flush();
    expect(texts(t)).toEqual(['system:You are talking to Bob. Say hi!']);
    expect(t.state().chat.partnerName).toBe('Bob');
  });

  it('ignores partner messages and typing when no call is on', async () => {
    const t = setup();
    t.socket.serverSends('chat-message', { text: 'ghost', id: 1, sentAt: 1 });
    t.socket.serverSends('typing', { active: true });
    expect(t.state().chat).toMatchObject({ lines: [], partnerTyping: false });
  });
});

describe('typing', () => {
  const typingSent = (t: ReturnType<typeof setup>) => t.socket.sent.filter((s) => s.event === 'typing').map((s) => (s.data as { active: boolean }).active);

  it('sends active:true at most once per 2 s while typing, and false after 3 s idle', async () => {
    const t = await inCall();
    t.controller.chatInput('h');
    t.advanceClock(500);
    vi.advanceTimersByTime(500);
    t.controller.chatInput('he');
    t.advanceClock(1000);
    vi.advanceTimersByTime(1000);
    t.controller.chatInput('hel');
    expect(typingSent(t)).toEqual([true]);
    t.advanceClock(600); // 2.1 s after the first
    vi.advanceTimersByTime(600);
    t.controller.chatInput('hell');
    expect(typingSent(t)).toEqual([true, true]);
    vi.advanceTimersByTime(2999);
    expect(typingSent(t)).toEqual([true, true]);
    vi.advanceTimersByTime(1);
    expect(typingSent(t)).toEqual([true, true, false]);
    // typing again after the pause announces it again at once
    t.controller.chatInput('hello');
    expect(typingSent(t)).toEqual([true, true, false, true]);
  });

  it('sends active:false on send, on blur and when the field is emptied, once', async () => {
    const t = await inCall();
    t.controller.chatInput('x');
    t.controller.sendChat('x');
    expect(t.socket.events()).toEqual(['typing', 'typing', 'chat-message']);
    expect(typingSent(t)).toEqual([true, false]);
    t.controller.chatInput('y');
    t.controller.chatBlur();
    t.controller.chatBlur();
    expect(typingSent(t)).toEqual([true, false, true, false]);
    t.controller.chatInput('z');
    t.controller.chatInput('');
    expect(typingSent(t)).toEqual([true, false, true, false, true, false]);
    vi.advanceTimersByTime(10_000);
    expect(typingSent(t)).toHaveLength(6);
  });

  it('sends nothing without a partner', () => {
    const t = setup();
    t.controller.chatInput('hello');
    t.controller.chatBlur();
    expect(t.socket.events()).toEqual([]);
  });

  it('shows the partner typing until false, a message, a timeout or the end of the call', async () => {
    const t = await inCall({ chat: { partnerTypingTimeoutMs: 5000 } });
    t.socket.serverSends('typing', { active: true });
    expect(t.state().chat.partnerTyping).toBe(true);
    t.socket.serverSends('typing', { active: false });
    expect(t.state().chat.partnerTyping).toBe(false);
    t.socket.serverSends('typing', { active: true });
    t.socket.serverSends('chat-message', { text: 'done', id: 1, sentAt: 1 });
    expect(t.state().chat.partnerTyping).toBe(false);
    t.socket.serverSends('typing', { active: true });
    vi.advanceTimersByTime(4999);
    expect(t.state().chat.partnerTyping).toBe(true);
    vi.advanceTimersByTime(1);
    expect(t.state().chat.partnerTyping).toBe(false);
    t.socket.serverSends('typing', { active: true });
    t.socket.serverSends('partner-disconnected', {});
    expect(t.state().chat.partnerTyping).toBe(false);
  });
});

describe('block and report', () => {
  it('Block in a call sends block-partner, ends the call and searches again', async () => {
    const t = await inCall();
    const pc = t.pc();
    expect(t.state().moderationTarget?.name).toBe('Ann');
    expect(t.controller.block()).toBe(true);
    expect(t.socket.events()).toEqual(['block-partner', 'find-partner']);
    expect(pc.closed).toBe(true);
    expect(t.call().phase).toBe('searching');
    expect(t.state().moderationTarget).toBeNull();
    expect(texts(t).at(-1)).toBe('system:You blocked Ann.');
    t.socket.serverSends('block-partner-ack', {});
    // the partner-left that crosses the block is ignored
    t.socket.serverSends('partner-left', { reason: 'leave' });
    expect(t.socket.events()).toEqual(['block-partner', 'find-partner']);
    expect(t.controller.block()).toBe(false); // nobody to block any more
  });

  it('Block with auto-search off stays idle', async () => {
    const t = await inCall();
    t.choices.update({ autoSearch: false });
    t.controller.block();
    expect(t.socket.events()).toEqual(['block-partner']);
    expect(t.call().phase).toBe('idle');
    expect(t.notice()).toMatch(/blocked Ann.*Start/);
  });

  it('Report sends the reason and note, ends the call, searches again and thanks on the ack', async () => {
    const t = await inCall();
    expect(t.controller.report('harassment', '  rude  ')).toBe(true);
    expect(t.socket.sent.slice(0, 2)).toEqual([
      { event: 'report-partner', data: { reason: 'harassment', note: 'rude' } },
      { event: 'find-partner', data: undefined },
    ]);
    expect(t.call().phase).toBe('searching');
    t.socket.serverSends('report-partner-ack', { reportId: 7 });
    expect(t.state().toast).toMatchObject({ kind: 'info', message: expect.stringMatching(/Report sent/) });
  });

  it('Report without a note sends the reason only', async () => {
    const t = await inCall();
    t.controller.report('spam');
    expect(t.socket.last('report-partner')).toEqual({ reason: 'spam' });
  });

  it('the last partner can still be reported after the call ended, until the next match', async () => {
    const t = await inCall();
    t.socket.serverSends('partner-left', { reason: 'next' });
    expect(t.call().phase).toBe('searching');
    expect(t.state().moderationTarget?.name).toBe('Ann');
    t.socket.clear();
    t.controller.report('nudity');
    // already searching: nothing else to do
    expect(t.socket.events()).toEqual(['report-partner']);
    expect(t.call().phase).toBe('searching');
    expect(texts(t).at(-1)).toBe('system:You reported Ann.');
  });

  it('after Stop the last partner can be blocked, and nothing is searched', async () => {
    const t = await inCall();
    t.controller.stop();
    t.socket.clear();
    t.controller.block();
    expect(t.socket.events()).toEqual(['block-partner']);
    expect(t.call().phase).toBe('idle');
  });

  it('nobody to report before the first match', () => {
    const t = setup();
    expect(t.controller.report('spam')).toBe(false);
    expect(t.controller.block()).toBe(false);
    expect(t.socket.events()).toEqual([]);
  });

  it('validates the report form', () => {
    expect(validateReport('', '')).toMatchObject({ ok: false });
    expect(validateReport('rude', '')).toMatchObject({ ok: false });
    expect(validateReport('other', ' why ')).toEqual({ ok: true, reason: 'other', note: 'why' });
    expect(validateReport('other', 'x'.repeat(501))).toMatchObject({ ok: false });
  });
});

describe('bans', () => {
  it('banned while connected: the call ends, no search, no reconnect message', async () => {
    const t = await inCall();
    const pc = t.pc();
    t.socket.serverSends('banned', { until: 2_000_000, reason: 'reported by 3 users' });
    expect(pc.closed).toBe(true);
    expect(t.call()).toEqual({ phase: 'banned', ban: { until: 2_000_000, reason: 'reported by 3 users' } });
    expect(t.state().moderationTarget).toBeNull();
    t.socket.connected = false;
    t.socket.serverSends('disconnect', 'io server disconnect');
    expect(t.state().toast).toBeNull();
    t.controller.start();
    t.controller.next();
    expect(t.socket.events()).toEqual([]);
  });

  it('a partner-left just before the ban starts a search that the ban cancels (no retry)', async () => {
    const t = await inCall();
    t.socket.serverSends('partner-left', { reason: 'leave' });
    t.socket.serverSends('rate-limited', { message: 'Please wait before searching again', retryAfter: 100, event: 'find-partner' });
    t.socket.serverSends('banned', { until: 2_000_000, reason: 'spam' });
    vi.advanceTimersByTime(1000);
    expect(t.socket.events()).toEqual(['find-partner']);
    expect(t.call().phase).toBe('banned');
  });

  it('refused at connect: connect_error "Banned" with {until, reason}', () => {
    const t = setup();
    const err = Object.assign(new Error('Banned'), { data: { until: 1_086_400_000, reason: 'harassment' } });
    t.socket.serverSends('connect_error', err);
    expect(t.call()).toEqual({ phase: 'banned', ban: { until: 1_086_400_000, reason: 'harassment' } });
    // other connect errors are not bans
    const t2 = setup();
    t2.socket.serverSends('connect_error', new Error('Authentication failed: token expired'));
    expect(t2.call().phase).toBe('idle');
  });

  it('parses ban payloads defensively', () => {
    expect(parseBan({ until: 5, reason: ' x ' })).toEqual({ until: 5, reason: 'x' });
    expect(parseBan({ until: 5 })).toEqual({ until: 5, reason: 'No reason given' });
    expect(parseBan({ reason: 'x' })).toBeNull();
    expect(parseBan(null)).toBeNull();
    expect(banFromConnectError({ message: 'Banned' })).toMatchObject({ reason: 'No reason given' });
    expect(banFromConnectError({ message: 'Authentication failed: x', data: { until: 1, reason: 'r' } })).toBeNull();
  });

  it('formats the time left', () => {
    expect(formatTimeLeft(24 * 3600_000)).toBe('24 h 00 min 00 s');
    expect(formatTimeLeft(24 * 3600_000 - 1500)).toBe('23 h 59 min 59 s');
    expect(formatTimeLeft(3 * 86400_000 + 5 * 3600_000)).toBe('3 d 5 h 00 min');
    expect(formatTimeLeft(4 * 60_000 + 9_000)).toBe('4 min 09 s');
    expect(formatTimeLeft(11_200)).toBe('12 s');
    expect(formatTimeLeft(-5)).toBe('0 s');
    expect(formatTimeLeft(Number.NaN)).toBe('unknown');
  });
});

describe('dispose', () => {
  it('also detaches the chat handlers', async () => {
    const t = await inCall();
    t.controller.dispose();
    expect(t.socket.listenerCount()).toBe(0);
  });
});

describe('report dialog guard', () => {
  it('a report for a call that was replaced by a new match is not sent', async () => {
    const t = await inCall();
    const callSeq = t.matched().callSeq;
    t.socket.serverSends('partner-left', { reason: 'next' });
    t.socket.serverSends('match-found', { role: 'receiver', partnerName: 'Zed', iceServers: [], commonInterests: [] });
    await flush();
    t.socket.clear();
    expect(t.controller.report('spam', '', callSeq)).toBe(false);
    expect(t.controller.block(callSeq)).toBe(false);
    expect(t.socket.events()).toEqual([]);
    expect(t.controller.report('spam', '', t.matched().callSeq)).toBe(true);
    expect(t.socket.last('report-partner')).toEqual({ reason: 'spam' });
  });

  it('the last partner after the call ended still counts as the same call', async () => {
    const t = await inCall();
    const callSeq = t.matched().callSeq;
    t.socket.serverSends('partner-left', { reason: 'leave' });
    expect(t.controller.block(callSeq)).toBe(true);
  });
});

describe('bot partners and the privacy choice', () => {
  it('a name ending with " (bot)" is a bot', () => {
    expect(isBotName('Echo (bot)')).toBe(true);
    expect(isBotName('Robert')).toBe(false);
    expect(isBotName('(bot) Alice')).toBe(false);
    expect(isBotName(null)).toBe(false);
  });
});
