// Safe view: the partner's video starts blurred until the user reveals it (a
// per-user setting, on for new users), and the nudity classifier
// (classifier.ts) blurs it again when it sees nudity. A pure reducer, so that
// every rule is one line and the unit tests cover it.

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const STORAGE_KEY = 'safeView';

/** On unless the user turned it off on this device. */
export function loadSafeView(storage: StorageLike): boolean {
  try {
    return storage.getItem(STORAGE_KEY) !== 'off';
  } catch {
    return true;
  }
}

export function saveSafeView(storage: StorageLike, on: boolean): void {
  try {
    storage.setItem(STORAGE_KEY, on ? 'on' : 'off');
  } catch {
    /* private mode or full: the default (on) is the safe one */
  }
}

export interface Veil {
  /** the video is shown unblurred */
  revealed: boolean;
  /** the classifier saw nudity in this call (the report offer stays until the call ends) */
  flagged: boolean;
  /** the last verdict was nudity: a verdict blurs only on the change from clean to nude */
  lastNude: boolean;
}

export type VeilEvent =
  | { type: 'new-call'; safeView: boolean }
  | { type: 'reveal' }
  | { type: 'setting'; safeView: boolean }
  | { type: 'verdict'; nudity: boolean };

export function startVeil(safeView: boolean): Veil {
  return { revealed: !safeView, flagged: false, lastNude: false };
}

export function veil(state: Veil, event: VeilEvent): Veil {
  switch (event.type) {
    case 'new-call':
      return startVeil(event.safeView);
    case 'reveal':
      return { ...state, revealed: true };
    case 'setting':
      // turning it on blurs now; turning it off reveals, except a flagged video
      return event.safeView ? { ...state, revealed: false } : { ...state, revealed: state.flagged ? state.revealed : true };
    case 'verdict':
      if (!event.nudity) return { ...state, lastNude: false };
      // Nudity after a clean verdict blurs again; while it lasts, a user who
      // chose to look again is not blurred over and over.
      return state.lastNude ? state : { revealed: false, flagged: true, lastNude: true };
  }
}
