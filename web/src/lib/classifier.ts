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

/** nsfwjs in a module worker; the model loads on the first frame. */
export class WorkerClassifier implements FrameClassifier {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: Verdict) => void; reject: (e: Error) => void }>();

  classify(frame: ImageBitmap): Promise<Verdict> {
    const worker = this.start();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: ClassifyRequest = { id, frame };
      worker.postMessage(request, [frame]);
    });
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('classifier closed'));
    this.pending.clear();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./classifier.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<ClassifyReply>) => {
      const r = e.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('error' in r) return p.reject(new Error(r.error));
      const scores = scoresOf(r.predictions);
      p.resolve({ nudity: isNudity(scores), scores, ms: r.ms });
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || 'classifier failed'));
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

export function createClassifier(): FrameClassifier {
  return testClassifier(typeof window === 'undefined' ? undefined : window.__rcTestHooks) ?? new WorkerClassifier();
}

/**
 * `window.__rcSafety.classifierStats()`: the figures of the current call's
 * sampler (frames, busy time, time to the first verdict), read by the browser
 * test that measures the classifier's cost (docs/performance.md).
 */
export function exposeClassifierStats(read: () => unknown): void {
  if (typeof window === 'undefined') return;
  (window as unknown as { __rcSafety?: { classifierStats: () => unknown } }).__rcSafety = { classifierStats: read };
}
