// Proof of work for a guest session: when POST /api/session answers 403
// pow-required, fetch a challenge from GET /api/altcha (our own server: ALTCHA
// is self-hosted, no third party), solve it in a Web Worker and hand the
// payload back to createSession (session.ts), which retries once with it.

import type { PowReply } from './pow.worker';
import { parseChallenge, type AltchaChallenge } from './powChallenge';
import { t } from '../i18n';

/** fraction of the work done (0..1), or null while it has no known end */
export type PowProgress = (fraction: number | null) => void;

export type ChallengeSolver = (challenge: AltchaChallenge, onProgress: PowProgress) => Promise<string | null>;

/** Solves in a module worker (pow.worker.ts); on the main thread where workers are missing (tests). */
export const solveInWorker: ChallengeSolver = (challenge, onProgress) => {
  // no workers (unit tests in Node): solve here, loading the solver only then
  if (typeof Worker === 'undefined') return import('./powSolve').then(({ solve }) => solve(challenge, onProgress));
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./pow.worker.ts', import.meta.url), { type: 'module' });
    const finish = () => worker.terminate();
    worker.onmessage = (e: MessageEvent<PowReply>) => {
      const r = e.data;
      if (r.type === 'progress') return onProgress(r.fraction);
      finish();
      if (r.type === 'done') resolve(r.payload);
      else reject(new Error(r.message));
    };
    worker.onerror = (e) => {
      finish();
      reject(new Error(e.message || t('pow.failed')));
    };
    worker.postMessage({ challenge });
  });
};

/** GET /api/altcha, solve, and return the base64 payload for `altcha`. */
export async function fetchAndSolve(onProgress: PowProgress, fetchFn: typeof fetch = fetch, solver: ChallengeSolver = solveInWorker): Promise<string> {
  let data: unknown;
  try {
    const res = await fetchFn('/api/altcha', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    data = await res.json();
  } catch {
    throw new Error(t('pow.unreachable'));
  }
  const challenge = parseChallenge(data);
  if (!challenge) throw new Error(t('pow.unsolvable'));
  onProgress(challenge.v === 1 ? 0 : null);
  const payload = await solver(challenge, onProgress);
  if (!payload) throw new Error(t('pow.notSolved'));
  return payload;
}
