// The nudity classifier on the RECEIVED video (the receiver runs it, so a
// modified sender cannot skip it): nsfwjs's MobileNetV2 with TensorFlow.js,
// bundled into our own assets (never fetched from another host), run in a
// module Web Worker (classifier.worker.ts) on frames the page samples
// (frameSampler.ts). Injectable: a browser test replaces it with a double
// through a test-only window hook (see testClassifier).

import type { ClassifyReply, ClassifyRequest } from './classifier.worker';

export interface Prediction {
  className: string;
  probability: number;
}

export interface Verdict {
  nudity: boolean;
  /** class -> probability, as the model said */
  scores: Record<string, number>;
  /** time the classifier spent on this frame (in the worker: that thread's busy time), ms */
  ms: number;
}

export interface FrameClassifier {
  /** Classify one frame; the classifier owns (and closes) the bitmap. */
  classify(frame: ImageBitmap): Promise<Verdict>;
  dispose(): void;
}

/**
 * Nudity when the model puts most of its weight on the explicit classes
 * (nsfwjs: Drawing, Hentai, Neutral, Porn, Sexy). "Sexy" alone (swimwear,
 * underwear) is not blurred: the issue asks for nudity, and false alarms teach
 * users to reveal without looking.
 */
export const NUDITY_THRESHOLD = 0.6;

export function isNudity(scores: Record<string, number>): boolean {
  return (scores.Porn ?? 0) + (scores.Hentai ?? 0) >= NUDITY_THRESHOLD;
}

export function scoresOf(predictions: readonly Prediction[]): Record<string, number> {
  const scores: Record<string, number> = {};
  for (const p of predictions) if (typeof p?.className === 'string' && Number.isFinite(p.probability)) scores[p.className] = p.probability;
  return scores;
}

/** When the model was asked for and when it was ready (performance.now(), ms), for the figures. */
export interface Warmth {
  /** the first warm() or classify() of this worker */
  requestedAt: number | null;
  /** the worker said the model is loaded (a warm reply or the first verdict) */
  readyAt: number | null;
  /** the model's load as the worker timed it (warm only), ms */
  loadMs: number | null;
  backend: string | null;
}

type Waiter = (reply: ClassifyReply) => void;

/**
 * nsfwjs in a module worker; the model loads on warm() (sent while the user
 * waits for a partner) or else on the first frame.
 */
export class WorkerClassifier implements FrameClassifier {
  private worker: Worker | null = null;
  private seq = 0;
  private warming: Promise<void> | null = null;
  private closed = false;
  private readonly pending = new Map<number, { settle: Waiter; fail: (e: Error) => void }>();
  readonly warmth: Warmth = { requestedAt: null, readyAt: null, loadMs: null, backend: null };

  get disposed(): boolean {
    return this.closed;
  }

  /** Load the model now (once; again only after a failure). Never rejects. */
  warm(): Promise<void> {
    this.warming ??= this.ask((id) => ({ id, warm: true }))
      .then((r) => {
        if ('error' in r) throw new Error(r.error);
        if ('ready' in r) Object.assign(this.warmth, { loadMs: r.ms, backend: r.backend });
      })
      .catch(() => {
        this.warming = null; // the next warm() or the first frame tries again
      });
    return this.warming;
  }

  async classify(frame: ImageBitmap): Promise<Verdict> {
    const r = await this.ask((id) => ({ id, frame }), [frame]);
    if ('error' in r) throw new Error(r.error);
    if (!('predictions' in r)) throw new Error('classifier answered out of turn');
    const scores = scoresOf(r.predictions);
    return { nudity: isNudity(scores), scores, ms: r.ms };
  }

  dispose(): void {
    this.closed = true;
    this.worker?.terminate();
    this.worker = null;
    this.warming = null;
    for (const p of this.pending.values()) p.fail(new Error('classifier closed'));
    this.pending.clear();
  }

  private ask(request: (id: number) => ClassifyRequest, transfer: Transferable[] = []): Promise<ClassifyReply> {
    const worker = this.start();
    const id = ++this.seq;
    this.warmth.requestedAt ??= performance.now();
    return new Promise((settle, fail) => {
      this.pending.set(id, { settle, fail });
      worker.postMessage(request(id), transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    this.closed = false;
    const worker = new Worker(new URL('./classifier.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<ClassifyReply>) => {
      const r = e.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (!('error' in r)) this.warmth.readyAt ??= performance.now();
      p.settle(r);
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.fail(new Error(e.message || 'classifier failed'));
      this.pending.clear();
    };
    this.worker = worker;
    return worker;
  }
}

/**
 * TEST-ONLY hook: a browser test (Playwright init script) may set
 * `window.__rcTestHooks = { classify(frame) }` before the page loads to replace
 * the model with a double (tests/e2e/test_safety_page.py). A script that can
 * set it could do anything else on our origin too, so it opens nothing new;
 * the real model is used whenever it is absent.
 */
export interface TestHooks {
  classify?: (frame: ImageBitmap) => Promise<{ nudity: boolean }> | { nudity: boolean };
}

declare global {
  interface Window {
    __rcTestHooks?: TestHooks;
  }
}

export function testClassifier(hooks: TestHooks | undefined): FrameClassifier | null {
  const fn = hooks?.classify;
  if (typeof fn !== 'function') return null;
  return {
    classify: async (frame) => {
      const started = performance.now();
      try {
        const { nudity } = await fn(frame);
        return { nudity: Boolean(nudity), scores: { test: nudity ? 1 : 0 }, ms: performance.now() - started };
      } finally {
        frame.close();
      }
    },
    dispose: () => {},
  };
}

// One worker (one copy of the model, ~10 MB of weights in memory) per page:
// warmClassifier() loads it while the user waits, and createClassifier() hands
// the same, warm one to the remote video. A disposed one (the room closed) is
// replaced on the next call.
let shared: WorkerClassifier | null = null;

function sharedWorker(): WorkerClassifier {
  if (!shared || shared.disposed) {
    shared = new WorkerClassifier();
    exposeSafety({ warmth: () => ({ ...(shared?.warmth ?? {}) }) });
  }
  return shared;
}

function hooks(): TestHooks | undefined {
  return typeof window === 'undefined' ? undefined : window.__rcTestHooks;
}

export function createClassifier(): FrameClassifier {
  return testClassifier(hooks()) ?? sharedWorker();
}

/** Load the model ahead of the first frame (a test double has none to load). */
export function warmClassifier(): void {
  if (testClassifier(hooks())) return;
  void sharedWorker().warm();
}

function exposeSafety(entries: Record<string, () => unknown>): void {
  if (typeof window === 'undefined') return;
  const w = window as unknown as { __rcSafety?: Record<string, () => unknown> };
  w.__rcSafety = { ...w.__rcSafety, ...entries };
}

/**
 * `window.__rcSafety.classifierStats()`: the figures of the current call's
 * sampler (frames, busy time, time to the first verdict), and
 * `window.__rcSafety.warmth()`: when the model was asked for and ready; read by
 * the browser tests and bench/pageload.py (docs/performance.md).
 */
export function exposeClassifierStats(read: () => unknown): void {
  exposeSafety({ classifierStats: read });
}
