// Undo for a few seconds after a dismissal or a ban (issue 24), as one value per
// action and no React: the console's Reports view drives it, Vitest drives it
// with hand-fired timers.
//
// The two actions are undone differently, on purpose:
// - a dismissal is *delayed*: nothing is sent until the window closes, so undo
//   costs nothing and a page closed within the window leaves the report open
//   (the safe side: someone looks at it again);
// - a ban is *done at once* and undone by the server (POST …/undo), so an abuser
//   who keeps acting is out while the moderator's window runs.

export const UNDO_MS = 5000;

export type Undoable =
  | { kind: 'delayed'; reportId: number; label: string; commit: () => Promise<void> }
  | { kind: 'done'; reportId: number; label: string; revert: () => Promise<void> };

export interface Timers {
  set: (run: () => void, ms: number) => number;
  clear: (id: number) => void;
}

const browserTimers: Timers = {
  set: (run, ms) => window.setTimeout(run, ms),
  clear: (id) => window.clearTimeout(id),
};

/**
 * One action at a time can be undone: offering a new one ends the window of the
 * previous (a delayed one is sent then). ``onChange`` hears every change of the
 * offered action (null when none); ``onError`` hears a commit or revert that failed.
 */
export class UndoWindow {
  private offered: Undoable | null = null;
  private timer: number | null = null;

  constructor(
    private readonly onChange: (offered: Undoable | null) => void,
    private readonly onError: (err: unknown) => void,
    private readonly timers: Timers = browserTimers,
    private readonly ms: number = UNDO_MS,
  ) {}

  get current(): Undoable | null {
    return this.offered;
  }

  /** Offer ``action`` for undo; the window of any earlier action closes first. */
  async offer(action: Undoable): Promise<void> {
    const previous = this.take();
    this.offered = action;
    this.timer = this.timers.set(() => void this.flush(), this.ms);
    this.onChange(action);
    await this.settle(previous);
  }

  /** Undo the offered action: a delayed one is dropped, a done one reverted. */
  async undo(): Promise<Undoable | null> {
    const action = this.take();
    if (action === null) return null;
    this.onChange(null);
    if (action.kind === 'done') {
      try {
        await action.revert();
      } catch (err) {
        this.onError(err);
        return null;
      }
    }
    return action;
  }

  /** Close the window now: a delayed action is sent (the timer's end, or leaving the view). */
  async flush(): Promise<void> {
    const action = this.take();
    if (action !== null) this.onChange(null);
    await this.settle(action);
  }

  private take(): Undoable | null {
    const action = this.offered;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.offered = null;
    return action;
  }

  private async settle(action: Undoable | null): Promise<void> {
    if (action?.kind !== 'delayed') return;
    try {
      await action.commit();
    } catch (err) {
      this.onError(err);
    }
  }
}
