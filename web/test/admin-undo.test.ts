// Undo after dismiss or ban (admin/undo.ts), with timers fired by hand.
import { describe, expect, it } from 'vitest';
import { UNDO_MS, UndoWindow, type Timers, type Undoable } from '../src/admin/undo';
import { triageKey } from '../src/admin/format';

class HandTimers implements Timers {
  next = 1;
  pending = new Map<number, { run: () => void; ms: number }>();
  set = (run: () => void, ms: number) => {
    const id = this.next++;
    this.pending.set(id, { run, ms });
    return id;
  };
  clear = (id: number) => {
    this.pending.delete(id);
  };
  /** Fire every timer due by now (all of them: the window is the only one). */
  fire(): void {
    const due = [...this.pending.entries()];
    this.pending.clear();
    for (const [, t] of due) t.run();
  }
}

function setup() {
  const timers = new HandTimers();
  const sent: string[] = [];
  const seen: (string | null)[] = [];
  const errors: unknown[] = [];
  const win = new UndoWindow(
    (offered) => seen.push(offered === null ? null : `${offered.kind}:${offered.reportId}`),
    (err) => errors.push(err),
    timers,
  );
  const dismiss = (id: number): Undoable => ({
    kind: 'delayed',
    reportId: id,
    label: `Dismissed #${id}`,
    commit: async () => {
      sent.push(`dismiss ${id}`);
    },
  });
  const ban = (id: number): Undoable => ({
    kind: 'done',
    reportId: id,
    label: `Banned #${id}`,
    revert: async () => {
      sent.push(`undo ${id}`);
    },
  });
  return { timers, sent, seen, errors, win, dismiss, ban };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('undo window', () => {
  it('sends a dismissal only when the window closes, after UNDO_MS', async () => {
    const { timers, sent, seen, win, dismiss } = setup();
    await win.offer(dismiss(1));
    expect(sent).toEqual([]);
    expect(win.current?.reportId).toBe(1);
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([UNDO_MS]);
    timers.fire();
    await settled();
    expect(sent).toEqual(['dismiss 1']);
    expect(win.current).toBeNull();
    expect(seen).toEqual(['delayed:1', null]);
  });

  it('an undone dismissal is never sent, even when its timer would have fired', async () => {
    const { timers, sent, win, dismiss } = setup();
    await win.offer(dismiss(2));
    const undone = await win.undo();
    expect(undone?.reportId).toBe(2);
    expect(timers.pending.size).toBe(0);
    timers.fire();
    await settled();
    expect(sent).toEqual([]);
  });

  it('a ban is not delayed: undo reverts it on the server', async () => {
    const { timers, sent, win, ban } = setup();
    await win.offer(ban(3));
    expect(sent).toEqual([]); // the ban itself was sent by the caller before offering
    await win.undo();
    expect(sent).toEqual(['undo 3']);
    timers.fire();
    await settled();
    expect(sent).toEqual(['undo 3']);
  });

  it('a ban whose window closed cannot be undone any more', async () => {
    const { timers, sent, win, ban } = setup();
    await win.offer(ban(4));
    timers.fire();
    await settled();
    expect(await win.undo()).toBeNull();
    expect(sent).toEqual([]);
  });

  it('a second action sends the first dismissal at once and takes the window', async () => {
    const { sent, win, dismiss } = setup();
    await win.offer(dismiss(5));
    await win.offer(dismiss(6));
    expect(sent).toEqual(['dismiss 5']);
    await win.undo();
    expect(sent).toEqual(['dismiss 5']);
  });

  it('flush (leaving the view) sends a pending dismissal now', async () => {
    const { timers, sent, win, dismiss } = setup();
    await win.offer(dismiss(7));
    await win.flush();
    expect(sent).toEqual(['dismiss 7']);
    expect(timers.pending.size).toBe(0);
  });

  it('a failed commit or revert is reported, not thrown', async () => {
    const { win, errors } = setup();
    await win.offer({
      kind: 'done',
      reportId: 8,
      label: '',
      revert: () => Promise.reject(new Error('409 too late')),
    });
    expect(await win.undo()).toBeNull();
    await win.offer({ kind: 'delayed', reportId: 9, label: '', commit: () => Promise.reject(new Error('offline')) });
    await win.flush();
    expect(errors.map(String)).toEqual(['Error: 409 too late', 'Error: offline']);
  });
});

describe('the undo key', () => {
  it('u undoes, except while typing', () => {
    const base = { ctrlKey: false, metaKey: false, altKey: false };
    expect(triageKey({ ...base, key: 'u', target: { tagName: 'BODY' } })).toBe('undo');
    expect(triageKey({ ...base, key: 'u', target: { tagName: 'INPUT' } })).toBeNull();
  });
});
