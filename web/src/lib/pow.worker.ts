// The proof of work off the main thread: one challenge per worker, progress
// posted as it goes (see powSolve.ts). The page terminates the worker when done.

import type { AltchaChallenge } from './powChallenge';
import { solve } from './powSolve';

export type PowRequest = { challenge: AltchaChallenge };
export type PowReply = { type: 'progress'; fraction: number | null } | { type: 'done'; payload: string | null } | { type: 'error'; message: string };

self.onmessage = (e: MessageEvent<PowRequest>) => {
  const reply = (r: PowReply) => self.postMessage(r);
  solve(e.data.challenge, (fraction) => reply({ type: 'progress', fraction })).then(
    (payload) => reply({ type: 'done', payload }),
    (err: unknown) => reply({ type: 'error', message: String((err as Error)?.message ?? err) }),
  );
};
