// Whether "Hide my IP (relay only)" can be kept, asked before any call. Only a
// TURN relay hides an address, so on a server without one the choice is shown
// disabled with the reason instead of being a promise the call breaks (and the
// server refuses a privacy search there: error code `privacy_unavailable`).
// The answer is GET /api/rules `privacy` (docs/protocol.md, privacy mode).

import type { MessageKey } from '../i18n';
import type { PrivacyMode } from './protocol';

/** What the page knows: the server's answer, or still asking, or it could not tell. */
export type PrivacyChoice = PrivacyMode | 'loading' | 'unknown';

const MODES: readonly string[] = ['available', 'always', 'no-turn', 'off'] satisfies readonly PrivacyMode[];

/** `privacy` of a GET /api/rules answer; 'unknown' when it is missing or not one we know. */
export function readPrivacyMode(data: unknown): PrivacyMode | 'unknown' {
  const value = (data as { privacy?: unknown } | null)?.privacy;
  return typeof value === 'string' && MODES.includes(value) ? (value as PrivacyMode) : 'unknown';
}

export async function fetchPrivacyMode(fetchFn: typeof fetch = fetch): Promise<PrivacyMode | 'unknown'> {
  try {
    const res = await fetchFn('/api/rules', { headers: { Accept: 'application/json' } });
    return res.ok ? readPrivacyMode(await res.json()) : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The box can be ticked only where a user's request makes the call relay-only. */
export function privacyOffered(choice: PrivacyChoice): boolean {
  return choice === 'available';
}

/**
 * Whether a remembered "Hide my IP" must be dropped: the server said it cannot
 * honour it, or could not be asked (the box then shows unticked, never a
 * promise nobody checked). While asking, the choice is kept; with 'always'
 * every call is relay-only anyway.
 */
export function privacyUnavailable(choice: PrivacyChoice): boolean {
  return choice === 'no-turn' || choice === 'off' || choice === 'unknown';
}

/** The i18n key of why the box cannot be ticked, or null when it can. */
export function privacyReasonKey(choice: PrivacyChoice): MessageKey | null {
  switch (choice) {
    case 'available':
      return null;
    case 'always':
      return 'controls.privacyAlways';
    case 'no-turn':
      return 'controls.privacyNoTurn';
    case 'off':
      return 'controls.privacyOff';
    case 'loading':
      return 'controls.privacyChecking';
    default:
      return 'controls.privacyUnknown';
  }
}
