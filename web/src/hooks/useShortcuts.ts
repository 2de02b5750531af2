import { useEffect, useRef } from 'react';
import { shortcutFor } from '../lib/shortcuts';

export interface ShortcutActions {
  /** N: Next, or Start when idle */
  next(): void;
  /** Esc */
  stop(): void;
}

/** The keyboard shortcuts (shortcuts.ts), while `enabled` (not in the report dialog, not banned). */
export function useShortcuts(enabled: boolean, actions: ShortcutActions): void {
  const latest = useRef({ enabled, actions });
  latest.current = { enabled, actions };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutFor(e);
      if (!action || !latest.current.enabled) return;
      e.preventDefault();
      latest.current.actions[action]();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
