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

export interface ChallengeV1 {
  algorithm: string;
  challenge: string;
  maxnumber?: number;
  salt: string;
  signature: string;
}

export interface ChallengeV2 {
  parameters: { algorithm: string; nonce: string; salt: string; cost: number; keyLength: number; keyPrefix: string; [k: string]: unknown };
  signature?: string;
}

export type AltchaChallenge = { v: 1; challenge: ChallengeV1 } | { v: 2; challenge: ChallengeV2 };

/** The most numbers a v1 challenge may ask us to try (altcha's default is 1e6; more is a hostile server). */
export const MAX_V1_NUMBER = 10_000_000;
/** v1 numbers per chunk between two progress reports */
export const V1_CHUNK = 5_000;

/** The answer of GET /api/altcha checked, or null when the page cannot solve it. */
export function parseChallenge(data: unknown): AltchaChallenge | null {
  const d = data as Record<string, unknown> | null;
  if (!d || typeof d !== 'object') return null;
  const p = d.parameters as Record<string, unknown> | undefined;
  if (p && typeof p === 'object') {
    if (typeof p.algorithm !== 'string' || !/^(SHA-(256|384|512)|PBKDF2\/SHA-(256|384|512))$/.test(p.algorithm)) return null;
    if (typeof p.nonce !== 'string' || typeof p.salt !== 'string' || typeof p.keyPrefix !== 'string') return null;
    return { v: 2, challenge: d as unknown as ChallengeV2 };
  }
  if (typeof d.algorithm === 'string' && typeof d.challenge === 'string' && typeof d.salt === 'string' && typeof d.signature === 'string') {
    if (!/^SHA-(1|256|512)$/.test(d.algorithm)) return null;
    const max = Number(d.maxnumber ?? d.maxNumber ?? 1e6);
    if (!Number.isFinite(max) || max < 1 || max > MAX_V1_NUMBER) return null;
    return { v: 1, challenge: { algorithm: d.algorithm, challenge: d.challenge, salt: d.salt, signature: d.signature, maxnumber: Math.floor(max) } };
  }
  return null;
}

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
