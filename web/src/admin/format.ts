// Pure helpers of the console: times, shares, ban lengths, the triage keys.

export function when(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function share(value: number | null): string {
  return value === null ? '—' : `${(value * 100).toFixed(1)} %`;
}

export function rate(value: number | null): string {
  return value === null ? 'measuring…' : value.toFixed(1);
}

// Ban lengths offered (hours); the server takes 1 minute to 10 years.
export const BAN_LENGTHS: readonly { hours: number; label: string }[] = [
  { hours: 1, label: '1 hour' },
  { hours: 24, label: '1 day' },
  { hours: 24 * 7, label: '1 week' },
  { hours: 24 * 30, label: '30 days' },
  { hours: 24 * 3650, label: '10 years' },
];

export function banLeft(until: number, now: number): string {
  const left = Math.max(0, until - now);
  if (left >= 2 * 365 * 86400) return 'years';
  const days = Math.floor(left / 86400);
  const hours = Math.floor((left % 86400) / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return `${minutes} min`;
}

export function actorLabel(createdBy: string): string {
  if (createdBy === 'auto') return 'automatic (reports)';
  return createdBy;
}

export type TriageKey = 'next' | 'previous' | 'dismiss' | 'ban' | 'undo';

/** The triage action of a key press, or null: none while typing or with a modifier. */
export function triageKey(event: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: unknown;
}): TriageKey | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const target = event.target as { tagName?: string; isContentEditable?: boolean } | null;
  const tag = target?.tagName?.toLowerCase();
  if (tag === 'input' || tag === 'textarea' || tag === 'select' || target?.isContentEditable) {
    return null;
  }
  switch (event.key) {
    case 'j':
      return 'next';
    case 'k':
      return 'previous';
    case 'd':
      return 'dismiss';
    case 'b':
      return 'ban';
    case 'u':
      return 'undo';
    default:
      return null;
  }
}

/** The index after moving by ``step`` in a list of ``length`` (clamped; -1 when empty). */
export function moved(index: number, step: number, length: number): number {
  if (length === 0) return -1;
  return Math.min(length - 1, Math.max(0, index + step));
}
