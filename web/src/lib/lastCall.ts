// Whom Report and Block apply to: the current partner, or for LAST_CALL_MS after a call
// ended however it ended, its partner ("Your last call" between calls). The server keeps
// a connection's last calls as long (core.recentcalls) and is told which one by the
// callId of its match-found, so a report is not misdirected when a new match came in.

import type { Timers } from './timers';

/**
 * The partner Report and Block apply to. `callId` is the page's count of calls;
 * `serverCallId` the `callId` of the call's match-found, sent with report-partner and
 * block-partner; `endedAt` (ms) once the call is over.
 */
export interface ModerationTarget {
  name: string;
  callId: number;
  serverCallId: string | null;
  endedAt: number | null;
}

/** How long after a call ended its partner can be reported or blocked (as the server's RECENT_SECONDS). */
export const LAST_CALL_MS = 5 * 60_000;

export class LastCall {
  /** forgets the last call's partner LAST_CALL_MS after the call ended */
  private timer: unknown = null;
  /** the partner of the call before the current one: a report dialog opened for them may still be sent */
  private previous: ModerationTarget | null = null;

  constructor(
    private readonly timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>,
    private readonly now: () => number,
    private readonly get: () => ModerationTarget | null,
    private readonly set: (target: ModerationTarget | null) => void,
  ) {}

  /** A new call: its partner is the target; the last call's, if ended, is kept as the previous one. */
  started(name: string, callId: number, serverCallId: string | null): void {
    this.clearTimer();
    const last = this.get();
    this.previous = last?.endedAt != null ? last : null;
    this.set({ name, callId, serverCallId, endedAt: null });
  }

  /** The call `callId` ended, however it ended: its partner stays reportable for LAST_CALL_MS. */
  ended(callId: number): void {
    const target = this.get();
    if (!target || target.callId !== callId || target.endedAt !== null) return;
    this.set({ ...target, endedAt: this.now() });
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.get()?.callId === callId) this.set(null);
    }, LAST_CALL_MS);
  }

  /** The target for a report or block opened for `forCallId` (undefined: whoever it is now). */
  pick(forCallId: number | undefined): ModerationTarget | null {
    const target = this.get();
    if (!target) return null;
    if (forCallId === undefined || forCallId === target.callId) return target;
    const before = this.previous; // someone else by now: the call before can still be named
    const recent = before?.endedAt != null && this.now() - before.endedAt < LAST_CALL_MS;
    return before?.callId === forCallId && before.serverCallId && recent ? before : null;
  }

  /** Reported or blocked: true when it was the previous call's partner (the current call goes on). */
  done(target: ModerationTarget): boolean {
    if (this.previous === target) {
      this.previous = null;
      return true;
    }
    this.set(null);
    return false;
  }

  dispose(): void {
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
