// A connection refused with code 'unavailable' (the server's Redis is briefly out): the
// page says so, keeps the user signed in and connects again by itself, with back-off.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setup } from './fakes';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** The error socket.io-client gives for a server refusal: the socket is no longer active. */
function unavailable(): Error {
  return Object.assign(new Error('Service briefly unavailable: try again in a few seconds'), { data: { code: 'unavailable' } });
}

function refusedSetup() {
  const refused: string[] = [];
  const t = setup({ onRefused: (m) => refused.push(m) });
  const connect = vi.fn();
  Object.assign(t.socket, { connected: false, active: false, connect });
  return { t, refused, connect };
}

describe("connect_error with code 'unavailable'", () => {
  it('shows a toast, does not sign out, and connects again after a back-off', () => {
    const { t, refused, connect } = refusedSetup();
    t.socket.serverSends('connect_error', unavailable());
    expect(refused).toEqual([]);
    expect(t.call().phase).toBe('idle');
    expect(t.state().toast).toMatchObject({ kind: 'error', topic: 'connection' });
    expect(t.state().toast?.message).toMatch(/Service briefly unavailable/);
    expect(connect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000); // the first retry: 0.5–1 s
    expect(connect).toHaveBeenCalledTimes(1);
    t.socket.serverSends('connect_error', unavailable()); // still out: wait longer
    vi.advanceTimersByTime(999);
    expect(connect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1001); // the second: 1–2 s
    expect(connect).toHaveBeenCalledTimes(2);
    Object.assign(t.socket, { connected: true });
    t.socket.serverSends('connect');
    expect(t.state().toast).toBeNull();
  });

  it('does not reconnect a page that was closed meanwhile', () => {
    const { t, connect } = refusedSetup();
    t.socket.serverSends('connect_error', unavailable());
    t.controller.dispose();
    vi.advanceTimersByTime(60_000);
    expect(connect).not.toHaveBeenCalled();
  });

  it('other refusals still sign out', () => {
    const { t, refused, connect } = refusedSetup();
    t.socket.serverSends('connect_error', new Error('Authentication failed: token expired'));
    expect(refused).toEqual(['Authentication failed: token expired. Please join again.']);
    vi.advanceTimersByTime(60_000);
    expect(connect).not.toHaveBeenCalled();
  });
});
