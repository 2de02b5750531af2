// Bans as the page sees them: from the 'banned' event or a refused connect.

import { MAX_REPORT_NOTE, REFUSAL, REPORT_REASONS, type BanInfo, type ReportReason } from './protocol';
import { t, type MessageKey } from '../i18n';

/** The label of each report reason, in the page's language (the value sent is the reason itself). */
export const REPORT_REASON_KEYS: Record<ReportReason, MessageKey> = {
  nudity: 'report.reason.nudity',
  harassment: 'report.reason.harassment',
  spam: 'report.reason.spam',
  underage: 'report.reason.underage',
  other: 'report.reason.other',
};

/** A ban payload ({until: Unix ms, reason}) checked, or null when it is not one. */
export function parseBan(data: unknown): BanInfo | null {
  const d = data as { until?: unknown; reason?: unknown } | null;
  if (!d || typeof d !== 'object') return null;
  const until = Number(d.until);
  if (!Number.isFinite(until)) return null;
  const reason = typeof d.reason === 'string' && d.reason.trim() ? d.reason.trim() : t('ban.noReason');
  return { until, reason };
}

/**
 * The ban in a Socket.IO connect_error, or null when the error is not a ban:
 * the server refuses banned users with err.message REFUSAL.BANNED and
 * err.data {until, reason}.
 */
export function banFromConnectError(err: unknown): BanInfo | null {
  const e = err as { message?: unknown; data?: unknown } | null;
  if (!e || e.message !== REFUSAL.BANNED) return null;
  return parseBan(e.data) ?? { until: Number.NaN, reason: t('ban.noReason') };
}

/** "3 d 5 h 00 min", "23 h 04 min 09 s", "4 min 09 s", "12 s"; "0 s" once the time is up. */
export function formatTimeLeft(ms: number): string {
  if (!Number.isFinite(ms)) return t('ban.unknown');
  const total = Math.max(0, Math.ceil(ms / 1000));
  // whole days only from two days on: a default 24 h ban reads "24 h 00 min 00 s"
  const days = total >= 2 * 86400 ? Math.floor(total / 86400) : 0;
  const hours = Math.floor((total - days * 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) return t('time.days', { d: days, h: hours, m: pad(minutes) });
  if (hours > 0) return t('time.hours', { h: hours, m: pad(minutes), s: pad(seconds) });
  if (minutes > 0) return t('time.minutes', { m: minutes, s: pad(seconds) });
  return t('time.seconds', { s: seconds });
}

/** Check a report before sending it. */
export function validateReport(reason: string, note: string): { ok: true; reason: ReportReason; note: string } | { ok: false; error: string } {
  if (!(REPORT_REASONS as readonly string[]).includes(reason)) return { ok: false, error: t('report.chooseError') };
  const trimmed = note.trim();
  if ([...trimmed].length > MAX_REPORT_NOTE) return { ok: false, error: t('report.noteTooLong', { count: MAX_REPORT_NOTE }) };
  return { ok: true, reason: reason as ReportReason, note: trimmed };
}

/** How often a banned page asks whether its ban still stands (GET /api/ban). */
export const BAN_CHECK_MS = 5000;

/**
 * Whether the bearer of `token` is still banned: true or false from GET /api/ban,
 * null when the server could not say (unreachable, or the token refused). A ban
 * lifted early reaches the banned page this way, since the ban closed its socket.
 */
export async function stillBanned(token: string, fetchFn: typeof fetch = fetch): Promise<boolean | null> {
  try {
    const res = await fetchFn('/api/ban', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (!res.ok) return null;
    const data = (await res.json()) as { banned?: unknown } | null;
    return typeof data?.banned === 'boolean' ? data.banned : null;
  } catch {
    return null;
  }
}
