// Issue 24, safe view without the toll: the blur lifts by itself on a clean
// first verdict (a remembered setting, on by default), and the classifier's
// model is loaded while the user waits (classifierWarmup.ts, one warm worker).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClassifier, warmClassifier, WorkerClassifier } from '../src/lib/classifier';
import type { ClassifyReply, ClassifyRequest } from '../src/lib/classifier.worker';
import { IDLE_TIMEOUT_MS, planWarmup, warmWhen, type IdleScheduler } from '../src/lib/classifierWarmup';
import { startVeil, veil, type Veil, type VeilEvent } from '../src/lib/safeview';

const run = (state: Veil, ...events: VeilEvent[]) => events.reduce(veil, state);
const clean: VeilEvent = { type: 'verdict', nudity: false };
const nude: VeilEvent = { type: 'verdict', nudity: true };

describe('auto-lift', () => {
  it('a clean first verdict lifts the blur with the setting on, and not with it off', () => {
    const on = run(startVeil(true), { type: 'new-call', safeView: true, autoLift: true });
    expect(on.revealed).toBe(false);
    expect(run(on, clean).revealed).toBe(true);
    const off = run(startVeil(true), { type: 'new-call', safeView: true, autoLift: false });
    expect(run(off, clean).revealed).toBe(false);
    expect(run(off, clean, clean).revealed).toBe(false);
  });

  it('only the first verdict lifts: nudity first keeps it blurred (flagged) after later clean frames', () => {
    const v = run(startVeil(true, true), nude, clean, clean);
    expect(v).toMatchObject({ revealed: false, flagged: true, judged: true });
  });

  it('nudity after an auto-lift blurs again and flags, as after a tap', () => {
    const v = run(startVeil(true, true), clean, nude);
    expect(v).toMatchObject({ revealed: false, flagged: true, lastNude: true });
  });

  it('a new call starts blurred and unjudged again', () => {
    const v = run(startVeil(true, true), clean, { type: 'new-call', safeView: true, autoLift: true });
    expect(v).toEqual(startVeil(true, true));
    expect(run(v, clean).revealed).toBe(true);
  });

  it('turning it on before the first verdict applies to it; turning it off after does not re-blur', () => {
    expect(run(startVeil(true, false), { type: 'auto-lift', on: true }, clean).revealed).toBe(true);
    expect(run(startVeil(true, true), { type: 'auto-lift', on: false }, clean).revealed).toBe(false);
    expect(run(startVeil(true, true), clean, { type: 'auto-lift', on: false }).revealed).toBe(true);
  });

  it('turning it on after the first verdict lifts nothing (the moment has passed)', () => {
    expect(run(startVeil(true, false), clean, { type: 'auto-lift', on: true }, clean).revealed).toBe(false);
  });
});

describe('when the model loads', () => {
  it('never for text chat or a banned user, now while searching or in a call, at idle with safe view', () => {
    expect(warmWhen({ mode: 'text', phase: 'searching', safeView: true })).toBe('never');
    expect(warmWhen({ mode: 'video', phase: 'banned', safeView: true })).toBe('never');
    expect(warmWhen({ mode: 'video', phase: 'searching', safeView: false })).toBe('now');
    expect(warmWhen({ mode: 'video', phase: 'matched', safeView: false })).toBe('now');
    expect(warmWhen({ mode: 'video', phase: 'idle', safeView: true })).toBe('idle');
    expect(warmWhen({ mode: 'video', phase: 'idle', safeView: false })).toBe('never');
  });

  function scheduler(withIdle: boolean) {
    const idle: { cb: () => void; timeout?: number }[] = [];
    const timers: { cb: () => void; ms: number }[] = [];
    const cancelled: number[] = [];
    const s: IdleScheduler = {
      setTimeout: (cb, ms) => timers.push({ cb, ms }),
      clearTimeout: (h) => void cancelled.push(h),
    };
    if (withIdle) {
      s.requestIdleCallback = (cb, opts) => idle.push({ cb, timeout: opts?.timeout });
      s.cancelIdleCallback = (h) => void cancelled.push(h);
    }
    return { s, idle, timers, cancelled };
  }

  it('warms at once while searching, at idle (with a deadline) between calls, cancels when the effect ends', () => {
    const warm = vi.fn();
    const a = scheduler(true);
    planWarmup({ mode: 'video', phase: 'searching', safeView: false }, warm, a.s);
    expect(warm).toHaveBeenCalledTimes(1);
    const cancel = planWarmup({ mode: 'video', phase: 'idle', safeView: true }, warm, a.s);
    expect(warm).toHaveBeenCalledTimes(1);
    expect(a.idle).toHaveLength(1);
    expect(a.idle[0].timeout).toBe(IDLE_TIMEOUT_MS);
    a.idle[0].cb();
    expect(warm).toHaveBeenCalledTimes(2);
    cancel();
    expect(a.cancelled).toEqual([1]);
    planWarmup({ mode: 'text', phase: 'searching', safeView: true }, warm, a.s);
    expect(warm).toHaveBeenCalledTimes(2);
  });

  it('falls back to a timer without requestIdleCallback', () => {
    const warm = vi.fn();
    const b = scheduler(false);
    const cancel = planWarmup({ mode: 'video', phase: 'idle', safeView: true }, warm, b.s);
    expect(b.timers.map((t) => t.ms)).toEqual([IDLE_TIMEOUT_MS]);
    b.timers[0].cb();
    expect(warm).toHaveBeenCalledTimes(1);
    cancel();
    expect(b.cancelled).toEqual([1]);
  });
});

/** A stand-in for the module worker (Node has no Worker): answers as classifier.worker.ts does. */
class FakeWorker {
  static made: FakeWorker[] = [];
  static failWarm = false;
  onmessage: ((e: { data: ClassifyReply }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  readonly seen: ClassifyRequest[] = [];
  terminated = false;
  constructor() {
    FakeWorker.made.push(this);
  }
  postMessage(request: ClassifyRequest) {
    this.seen.push(request);
    const answer: ClassifyReply =
      'warm' in request
        ? FakeWorker.failWarm
          ? { id: request.id, error: 'no model' }
          : { id: request.id, ready: true, ms: 12, backend: 'wasm' }
        : { id: request.id, predictions: [{ className: 'Neutral', probability: 0.9 }], ms: 5, backend: 'wasm' };
    queueMicrotask(() => this.onmessage?.({ data: answer }));
  }
  terminate() {
    this.terminated = true;
  }
}

describe('the warm worker', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    FakeWorker.made = [];
    FakeWorker.failWarm = false;
  });

  it('warm() loads once; classify() then uses the same worker; the shared one is handed to the video', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    const c = new WorkerClassifier();
    await Promise.all([c.warm(), c.warm()]);
    expect(FakeWorker.made).toHaveLength(1);
    expect(FakeWorker.made[0].seen.filter((r) => 'warm' in r)).toHaveLength(1);
    expect(c.warmth).toMatchObject({ loadMs: 12, backend: 'wasm' });
    expect(c.warmth.readyAt).not.toBeNull();
    const verdict = await c.classify({ close() {} } as unknown as ImageBitmap);
    expect(verdict.nudity).toBe(false);
    expect(FakeWorker.made).toHaveLength(1);
    c.dispose();
    expect(FakeWorker.made[0].terminated).toBe(true);
    expect(c.disposed).toBe(true);

    warmClassifier();
    const handed = createClassifier();
    expect(FakeWorker.made).toHaveLength(2); // the warm one, not a second copy of the model
    expect(handed).toBeInstanceOf(WorkerClassifier);
    handed.dispose();
    expect(createClassifier()).not.toBe(handed); // a closed room's worker is replaced
  });

  it('a failed warm-up never rejects and is tried again', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    FakeWorker.failWarm = true;
    const c = new WorkerClassifier();
    await expect(c.warm()).resolves.toBeUndefined();
    FakeWorker.failWarm = false;
    await c.warm();
    expect(FakeWorker.made[0].seen.filter((r) => 'warm' in r)).toHaveLength(2);
    expect(c.warmth.loadMs).toBe(12);
    c.dispose();
  });
});
