// The ALTCHA challenge as GET /api/altcha sends it, checked before any work
// (no altcha-lib here: the page's main bundle stays small; the solver is in
// powSolve.ts, which runs in pow.worker.ts).

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
