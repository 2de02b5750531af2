import { useState, useSyncExternalStore } from 'react';
import { ChoicesStore, type Choices, type StorageLike } from '../lib/choices';
import { language } from '../i18n';

/** localStorage, or null where the browser refuses it (some private modes throw on the mere access). */
function pageStorage(): StorageLike | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export interface PersistentChoices {
  /** what the settings show (a new object on every change) */
  choices: Choices;
  /** change some choices: saved at once, and the next search sends them */
  update: (patch: Partial<Choices>) => void;
  /** the current choices, for code outside React (the call controller, the notifier); stable */
  read: () => Choices;
}

/**
 * The room's remembered choices (choices.ts), loaded once when the room opens:
 * the one owner the settings, the search and the notifier all read.
 */
export function usePersistentChoices(): PersistentChoices {
  const [store] = useState(() => new ChoicesStore(pageStorage(), language()));
  const choices = useSyncExternalStore(store.subscribe, store.get);
  return { choices, update: store.update, read: store.get };
}
