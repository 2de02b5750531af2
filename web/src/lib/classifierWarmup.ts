// When to load the nudity classifier's model ahead of the first frame. On a
// slow phone link the model (~2.5 MB compressed) takes longer to arrive than a
// partner does, so waiting for the first frame meant a blurred video for
// ~19 s; loading it while the user waits for a partner takes that download
// off the call's path, and on a later visit the HTTP cache serves it.

import type { Mode } from './mode';

export type WarmWhen = 'now' | 'idle' | 'never';

export interface WarmInputs {
  mode: Mode;
  /** the call's phase (callState.ts): idle, searching, matched, banned, ... */
  phase: string;
  safeView: boolean;
}

/**
 * - a text chat shows no video: nothing to classify, no 2.5 MB for nothing;
 * - searching or in a call: now (the classifier runs on every video call);
 * - between calls with safe view on: when the page is idle, so the download
 *   does not compete with the page's own start-up.
 */
export function warmWhen({ mode, phase, safeView }: WarmInputs): WarmWhen {
  if (mode !== 'video' || phase === 'banned') return 'never';
  if (phase === 'searching' || phase === 'matched') return 'now';
  return safeView ? 'idle' : 'never';
}

export interface IdleScheduler {
  requestIdleCallback?: (cb: () => void, opts?: { timeout: number }) => number;
  cancelIdleCallback?: (handle: number) => void;
  setTimeout: (cb: () => void, ms: number) => number;
  clearTimeout: (handle: number) => void;
}

/** the longest an idle warm-up waits for the browser to be idle */
export const IDLE_TIMEOUT_MS = 2000;

/** Run `warm` as warmWhen() says; returns the cancel for a React effect. */
export function planWarmup(inputs: WarmInputs, warm: () => void, scheduler: IdleScheduler): () => void {
  const when = warmWhen(inputs);
  if (when === 'never') return () => {};
  if (when === 'now') {
    warm();
    return () => {};
  }
  // called as methods: window's would throw "Illegal invocation" when detached
  if (typeof scheduler.requestIdleCallback === 'function') {
    const handle = scheduler.requestIdleCallback(warm, { timeout: IDLE_TIMEOUT_MS });
    return () => scheduler.cancelIdleCallback?.(handle);
  }
  // Safari has no requestIdleCallback: after the page's first moments instead
  const handle = scheduler.setTimeout(warm, IDLE_TIMEOUT_MS);
  return () => scheduler.clearTimeout(handle);
}
