// Guest session: POST /api/session, token kept in localStorage['token'] so a
// site with its own login can hand one in.

import { hasUnwanted } from './text';

export interface Session {
  token: string;
  username: string | null;
  expiresAt: string | null;
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
}

export function clearSession(storage: StorageLike): void {
  storage.removeItem('token');
  storage.removeItem('username');
  storage.removeItem('tokenExpiresAt');
}

export function validateNickname(raw: string): string | null {
  const name = raw.trim();
  if (!name) return 'Please enter a nickname.';
  if ([...name].length > 32) return 'Nicknames are at most 32 characters.';
  if (hasUnwanted(name)) return 'Nicknames cannot contain control characters or direction overrides.';
  return null;
}

export async function createSession(username: string, fetchFn: typeof fetch = fetch): Promise<Session> {
  let res: Response;
  try {
    res = await fetchFn('/api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: username.trim() }),
    });
  } catch {
    throw new Error('Cannot reach the server. Check your connection and try again.');
  }
  let body: any = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.status === 201 || res.ok) {
    if (!body?.token) throw new Error('The server sent an unexpected reply.');
    return { token: body.token, username: body.username ?? username.trim(), expiresAt: body.expiresAt != null ? String(body.expiresAt) : null };
  }
  const detail = typeof body?.detail === 'string' ? body.detail : Array.isArray(body?.detail) ? body.detail.map((d: any) => d?.msg ?? String(d)).join('; ') : null;
  if (res.status === 403) throw new Error(detail ?? 'Guest sessions are disabled on this server.');
  if (res.status === 422) throw new Error(detail ?? 'That nickname is not allowed.');
  if (res.status === 429) throw new Error(detail ?? 'Too many attempts. Wait a moment and try again.');
  throw new Error(detail ?? `The server refused to join (HTTP ${res.status}).`);
}
