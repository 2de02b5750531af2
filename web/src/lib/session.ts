// Guest session: POST /api/session, token kept in localStorage['token'] so a
// site with its own login can hand one in. The device key the server issues with
// the first session (localStorage['device']) is sent with every later one and
// outlives "Change": a new nickname from this browser is the same guest to blocks,
// reports and bans (docs/security.md).

import type { BanInfo } from './protocol';
import { hasUnwanted } from './text';
import { t } from '../i18n';

export interface Session {
  token: string;
  username: string | null;
  expiresAt: string | null;
  /** the device key the server issued or confirmed (kept across sessions) */
  device?: string | null;
}

export interface StorageLike {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

export function loadSession(storage: StorageLike, now = Date.now()): Session | null {
  const token = storage.getItem('token');
  if (!token) return null;
  const expiresAt = storage.getItem('tokenExpiresAt');
  if (expiresAt) {
    const t = expiryMs(expiresAt);
    if (Number.isFinite(t) && t <= now) {
      clearSession(storage);
      return null;
    }
  }
  return { token, username: storage.getItem('username'), expiresAt };
}

/** expiresAt as epoch ms; the server sends Unix seconds, ISO strings are accepted too. */
export function expiryMs(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (Number.isFinite(n)) return n < 1e12 ? n * 1000 : n;
  return typeof raw === 'string' ? Date.parse(raw) : NaN;
}

export function saveSession(storage: StorageLike, s: Session): void {
  storage.setItem('token', s.token);
  if (s.username) storage.setItem('username', s.username);
  else storage.removeItem('username');
  if (s.expiresAt) storage.setItem('tokenExpiresAt', s.expiresAt);
  else storage.removeItem('tokenExpiresAt');
  if (s.device) storage.setItem('device', s.device);
}

/** The device key to send with POST /api/session (never cleared by clearSession). */
export function loadDevice(storage: StorageLike): string | null {
  return storage.getItem('device');
}

export function clearSession(storage: StorageLike): void {
  storage.removeItem('token');
  storage.removeItem('username');
  storage.removeItem('tokenExpiresAt');
}

export function validateNickname(raw: string): string | null {
  const name = raw.trim();
  if (!name) return t('session.enterNickname');
  if ([...name].length > 32) return t('session.nicknameTooLong', { max: 32 });
  if (hasUnwanted(name)) return t('session.nicknameUnwanted');
  return null;
}

/** Why POST /api/session refused, by the server's machine code (see docs/protocol.md). */
export type SessionErrorCode =
  | 'rules-not-accepted'
  | 'name-refused'
  | 'pow-required'
  | 'pow-invalid'
  | 'banned'
  | 'rate-limited'
  | 'unreachable'
  | 'other';

/** A refused join: `message` is for people; `code` says what to do (never the text). */
export class SessionError extends Error {
  constructor(
    message: string,
    readonly code: SessionErrorCode,
    /** banned: until when (Unix ms, NaN when permanent or unknown) and why */
    readonly ban: BanInfo | null = null,
    /** rules-not-accepted: the version the server wants accepted now */
    readonly rulesVersion: string | null = null,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

export interface SessionOptions {
  /** the version of the rules the user accepted (GET /api/rules) */
  rulesVersion?: string;
  /** solves a proof of work when the server asks for one (pow.ts); without it pow-required is an error */
  solvePow?: () => Promise<string>;
  /** the device key this browser keeps (loadDevice) */
  device?: string | null;
}

const KNOWN_CODES: readonly SessionErrorCode[] = ['rules-not-accepted', 'name-refused', 'pow-required', 'pow-invalid', 'banned', 'rate-limited'];

/**
 * POST /api/session. When the server answers 403 pow-required and `solvePow`
 * is given, the challenge is solved and the request sent once more with the
 * solution (a second pow-required is an error: no loop).
 */
export async function createSession(username: string, fetchFn: typeof fetch = fetch, options: SessionOptions = {}): Promise<Session> {
  const name = username.trim();
  const body: Record<string, string> = { username: name };
  if (options.rulesVersion) body.rulesVersion = options.rulesVersion;
  if (options.device) body.device = options.device;
  const first = await postSession(fetchFn, body);
  if (first instanceof SessionError && first.code === 'pow-required' && options.solvePow) {
    const altcha = await options.solvePow();
    const second = await postSession(fetchFn, { ...body, altcha });
    if (second instanceof SessionError) throw second;
    return second;
  }
  if (first instanceof SessionError) throw first;
  return first;
}

async function postSession(fetchFn: typeof fetch, body: Record<string, string>): Promise<Session | SessionError> {
  let res: Response;
  try {
    res = await fetchFn('/api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new SessionError(t('session.unreachable'), 'unreachable');
  }
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 201 || res.ok) {
    if (!data?.token) throw new SessionError(t('session.unexpected'), 'other');
    const device = typeof data.device === 'string' ? data.device : null;
    return { token: data.token, username: data.username ?? body.username ?? null, expiresAt: data.expiresAt != null ? String(data.expiresAt) : null, device };
  }
  const detail = typeof data?.detail === 'string' ? data.detail : Array.isArray(data?.detail) ? data.detail.map((d: any) => d?.msg ?? String(d)).join('; ') : null;
  const code: SessionErrorCode = KNOWN_CODES.includes(data?.code) ? data.code : 'other';
  switch (code) {
    case 'banned': {
      const until = data?.until == null ? Number.NaN : Number(data.until);
      const reason = typeof data?.reason === 'string' && data.reason.trim() ? data.reason.trim() : t('ban.noReason');
      return new SessionError(detail ?? t('session.banned'), code, { until, reason });
    }
    case 'rules-not-accepted':
      return new SessionError(
        detail ?? t('session.rulesFirst'),
        code,
        null,
        typeof data?.rulesVersion === 'string' ? data.rulesVersion : null,
      );
    case 'name-refused':
      return new SessionError(detail ?? t('session.nameRefused'), code);
    case 'pow-required':
    case 'pow-invalid':
      return new SessionError(detail ?? t('session.powFailed'), code);
    case 'rate-limited': {
      const retry = Number(res.headers?.get?.('Retry-After'));
      const wait = Number.isFinite(retry) && retry > 0;
      // the server's detail already says how long; our own words need the header's figure
      return new SessionError(detail ?? (wait ? t('session.tooManyWait', { count: Math.ceil(retry) }) : t('session.tooMany')), code);
    }
    default:
      break;
  }
  if (res.status === 403) return new SessionError(detail ?? t('session.guestsOff'), 'other');
  if (res.status === 422) return new SessionError(detail ?? t('session.nameNotAllowed'), 'other');
  if (res.status === 429) return new SessionError(detail ?? t('session.tooManyLater'), 'rate-limited');
  return new SessionError(detail ?? t('session.refused', { status: res.status }), 'other');
}
