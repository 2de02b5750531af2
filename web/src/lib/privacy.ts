// The "Hide my IP (relay only)" choice, remembered like the interests. With it,
// find-partner / next carry `privacy: true`: the server makes that call
// relay-only for both sides and passes on no candidate that holds an IP address
// of ours (docs/protocol.md, privacy mode).

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const STORAGE_KEY = 'privacy';

export function loadPrivacy(storage: StorageLike): boolean {
  try {
    return storage.getItem(STORAGE_KEY) === 'relay';
  } catch {
    return false;
  }
}

export function savePrivacy(storage: StorageLike, on: boolean): void {
  try {
    storage.setItem(STORAGE_KEY, on ? 'relay' : 'all');
  } catch {
    /* private mode or full: not worth a message */
  }
}
