// How long a new call may take to carry media before the page gives up and
// finds someone else (CallSession's connect timeout). The user's choice of it
// is kept with the other choices (choices.ts, `connectTimeout`, in seconds).
//
// Default 15 s: time to media (match-found to the first remote frame) is
// about 0.5 s between two browsers on one host (docs/performance.md, measured
// by tests/e2e/test_resilience.py) and a few seconds through STUN/TURN across
// the internet; ICE's own checks give up on a dead candidate pair after about
// 10 s in Chromium. 15 s is well past a slow but working call and ends a call
// that cannot connect before people walk away.

export const CONNECT_TIMEOUT_CHOICES = [10, 15, 20, 30, 60] as const;
export const DEFAULT_CONNECT_TIMEOUT_S = 15;

/** `raw` when it is one of the offered choices (storage is the user's to edit), else undefined. */
export function connectTimeoutChoice(raw: unknown): number | undefined {
  return typeof raw === 'number' && (CONNECT_TIMEOUT_CHOICES as readonly number[]).includes(raw) ? raw : undefined;
}
