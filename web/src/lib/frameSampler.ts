// Samples the partner's video for the classifier: one frame at most every
// `intervalMs`, never two in flight, and the classifier busy at most `maxDuty`
// of the time (a frame that took 600 ms waits 2.4 s at 0.25 for the next: a
// slow machine classifies less often instead of losing the call's CPU), scaled down to the model's 224x224 by
// createImageBitmap so that only a small bitmap crosses to the worker.
// Keeps the figures docs/performance.md reports (frames, busy time, time to
// the first verdict).

import type { FrameClassifier, Verdict } from './classifier';
import type { Timers } from './timers';

export const MODEL_SIZE = 224;
/** the longest wait after failures in a row */
export const MAX_BACKOFF_MS = 30_000;

export interface SamplerStats {
  frames: number;
  /** classifier time summed over frames, ms */
  busyMs: number;
  /** main-thread time spent grabbing frames, ms */
  grabMs: number;
  /** from start() to the first verdict, ms (null before it) */
  firstVerdictMs: number | null;
  /** from start() to now, ms */
  runningMs: number;
  errors: number;
  lastError: string | null;
  lastVerdict: Verdict | null;
}

export interface SamplerDeps {
  classifier: FrameClassifier;
  /** the frame to classify, or null when there is none yet (no size, not playing) */
  grab: () => Promise<ImageBitmap | null>;
  onVerdict: (v: Verdict) => void;
  timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  now: () => number;
  intervalMs?: number;
  /** the most of the time the classifier may be busy (0..1]; default 0.25 */
  maxDuty?: number;
}

export class FrameSampler {
  private timer: unknown = null;
  private stopped = false;
  /** failures in a row: each doubles the wait (a model that cannot load is not retried every second) */
  private failures = 0;
  private readonly startedAt: number;
  private stats: Omit<SamplerStats, 'runningMs'> = { frames: 0, busyMs: 0, grabMs: 0, firstVerdictMs: null, errors: 0, lastError: null, lastVerdict: null };

  constructor(private readonly deps: SamplerDeps) {
    this.startedAt = deps.now();
    this.schedule(0);
  }

  getStats(): SamplerStats {
    return { ...this.stats, runningMs: this.deps.now() - this.startedAt };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    const began = this.deps.now();
    let interval = this.deps.intervalMs ?? 1000;
    try {
      const t0 = this.deps.now();
      const frame = await this.deps.grab();
      this.stats.grabMs += this.deps.now() - t0;
      if (!frame) return;
      if (this.stopped) return frame.close();
      const verdict = await this.deps.classifier.classify(frame);
      if (this.stopped) return;
      this.stats.frames += 1;
      this.stats.busyMs += verdict.ms;
      this.stats.lastVerdict = verdict;
      this.failures = 0;
      interval = Math.max(interval, verdict.ms / (this.deps.maxDuty ?? 0.25));
      if (this.stats.firstVerdictMs === null) this.stats.firstVerdictMs = this.deps.now() - this.startedAt;
      this.deps.onVerdict(verdict);
    } catch (err) {
      this.stats.errors += 1;
      this.stats.lastError = String((err as Error)?.message ?? err);
      this.failures += 1;
      interval = Math.min(MAX_BACKOFF_MS, interval * 2 ** Math.min(this.failures, 10));
    } finally {
      // the next frame `interval` after this one began (or at once if it took longer)
      this.schedule(Math.max(0, interval - (this.deps.now() - began)));
    }
  }
}

/** A 224x224 bitmap of the video's current frame, or null when it has none yet. */
export function grabVideoFrame(video: HTMLVideoElement): Promise<ImageBitmap | null> {
  if (video.readyState < 2 || video.videoWidth === 0 || video.paused) return Promise.resolve(null);
  return createImageBitmap(video, { resizeWidth: MODEL_SIZE, resizeHeight: MODEL_SIZE, resizeQuality: 'low' });
}
