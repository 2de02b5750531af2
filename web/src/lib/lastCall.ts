// Whom Report and Block apply to: the current partner (Matched.target), or for
// LAST_CALL_MS after a call ended however it ended, its partner ("Your last call"
// between calls). The server keeps a connection's last calls as long
// (core.recentcalls) and is told which one by the callId of its match-found, so a
// report is not misdirected when a new match came in.

import type { Timers } from './timers';

/**
 * The partner Report and Block apply to. `callSeq` is the page's count of calls;
 * `serverCallId` the `callId` of the call's match-found, sent with report-partner and
 * block-partner; `endedAt` (ms) once the call is over.
 */
export interface ModerationTarget {
  name: string;
  callSeq: number;
  serverCallId: string | null;
  endedAt: number | null;
}

/** How long after a call ended its partner can be reported or blocked (as the server's RECENT_SECONDS). */
export const LAST_CALL_MS = 5 * 60_000;

/** The partners of the calls that ended last; the current call's is in its Matched state. */
export class LastCall {
  /** forgets the ended calls LAST_CALL_MS after the last one ended */
  private timer: unknown = null;
  /** the partner of the call that ended last */
  private last: ModerationTarget | null = null;
  /** the call that ended before `last`: a report dialog opened for it may still be sent */
  private previous: ModerationTarget | null = null;
  /** the call whose partner was reported or blocked while it went on: not kept when it ends */
  private dismissed: number | null = null;

  constructor(
    private readonly timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>,
    private readonly now: () => number,
    /** the ended calls were forgotten (the time ran out) */
    private readonly onChange: () => void,
  ) {}

  /** The partner of the call that ended last, while it can still be reported. */
  get recent(): ModerationTarget | null {
    return this.last;
  }

  /** The call of `target` ended, however it ended: its partner stays reportable for LAST_CALL_MS. */
  ended(target: ModerationTarget): void {
    if (target.callSeq === this.dismissed) return;
    this.previous = this.last;
    this.last = { ...target, endedAt: this.now() };
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.forget();
      this.onChange();
    }, LAST_CALL_MS);
  }

  /** The target for a report or block opened for `forCallSeq` (undefined: whoever it is now). */
  pick(forCallSeq: number | undefined, current: ModerationTarget | null): ModerationTarget | null {
    const shown = current ?? this.last;
    if (!shown) return null;
    if (forCallSeq === undefined || forCallSeq === shown.callSeq) return shown;
    const before = current ? this.last : this.previous; // someone else by now: the call before can still be named
    const recent = before?.endedAt != null && this.now() - before.endedAt < LAST_CALL_MS;
    return before?.callSeq === forCallSeq && before.serverCallId && recent ? before : null;
  }

  /** Reported or blocked: true when it was the call before the one shown (which goes on). */
  done(target: ModerationTarget, current: ModerationTarget | null): boolean {
    if (target !== (current ?? this.last)) {
      if (this.last === target) this.last = null;
      if (this.previous === target) this.previous = null;
      return true;
    }
    this.forget();
    if (current) this.dismissed = current.callSeq;
    return false;
  }

  dispose(): void {
    this.clearTimer();
  }

  private forget(): void {
    this.last = null;
    this.previous = null;
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
