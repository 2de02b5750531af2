// Keyboard shortcuts: N = Next (or Start when idle), Escape = Stop.
// Ignored while typing in a field or with modifier keys held.

export type ShortcutAction = 'next' | 'stop';

export const SHORTCUT_LABELS: Record<ShortcutAction, { key: string; aria: string }> = {
  next: { key: 'N', aria: 'n' },
  stop: { key: 'Esc', aria: 'Escape' },
};

interface KeyEventLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  repeat?: boolean;
  isComposing?: boolean;
  target?: unknown;
}

function isTypingTarget(target: unknown): boolean {
  const el = target as { tagName?: string; isContentEditable?: boolean; type?: string } | null;
  if (!el || typeof el.tagName !== 'string') return false;
  const tag = el.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const t = (el.type || 'text').toLowerCase();
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(t);
  }
  return Boolean(el.isContentEditable);
}

export function shortcutFor(e: KeyEventLike): ShortcutAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || e.isComposing) return null;
  if (isTypingTarget(e.target)) return null;
  if (e.key === 'n' || e.key === 'N') return 'next';
  if (e.key === 'Escape') return 'stop';
  return null;
}
