// Solving an ALTCHA proof of work (GET /api/altcha) with the `altcha-lib`
// npm package, self-hosted: both challenge shapes the Python `altcha`
// package can issue (v2 `{parameters, signature}`, the default there; v1
// `{algorithm, challenge, maxnumber, salt, signature}`). Runs in
// pow.worker.ts; plain functions so that the unit tests solve real
// challenges in Node.

import { solveChallenge as solveV1 } from 'altcha-lib/v1';
import { solveChallenge as solveV2 } from 'altcha-lib';
import { deriveKey as deriveSha } from 'altcha-lib/algorithms/web/sha';
import { deriveKey as derivePbkdf2 } from 'altcha-lib/algorithms/web/pbkdf2';

import { V1_CHUNK, type AltchaChallenge } from './powChallenge';

export { parseChallenge } from './powChallenge';
export type { AltchaChallenge } from './powChallenge';

/**
 * Solve and return the base64 payload POST /api/session takes as `altcha`.
 * `onProgress(fraction | null)`: a share of the numbers tried (v1) or null
 * when the work has no known end (v2). Null when no number solves it.
 */
export async function solve(c: AltchaChallenge, onProgress: (fraction: number | null) => void = () => {}, signal?: AbortSignal): Promise<string | null> {
  if (c.v === 1) {
    const { algorithm, challenge, salt, signature } = c.challenge;
    const max = c.challenge.maxnumber ?? 1e6;
    const started = Date.now();
    for (let start = 0; start <= max; start += V1_CHUNK) {
      if (signal?.aborted) return null;
      const found = await solveV1(challenge, salt, algorithm, Math.min(max, start + V1_CHUNK - 1), start).promise;
      if (found) return encode({ algorithm, challenge, number: found.number, salt, signature, took: Date.now() - started });
      onProgress(Math.min(1, (start + V1_CHUNK) / (max + 1)));
    }
    return null;
  }
  onProgress(null);
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort());
  const deriveKey = c.challenge.parameters.algorithm.startsWith('PBKDF2') ? derivePbkdf2 : deriveSha;
  const solution = await solveV2({ challenge: c.challenge as never, deriveKey, controller });
  if (!solution) return null;
  return encode({ challenge: c.challenge, solution });
}

function encode(payload: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
