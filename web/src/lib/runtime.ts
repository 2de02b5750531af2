import { PeerRegistry } from './peerRegistry';

/** One registry for the page; window.__rc reads it (see main.tsx). */
export const peerRegistry = new PeerRegistry();

export interface RcDebug {
  peerConnectionsOpen(): number;
  peerConnectionsCreated(): number;
}

declare global {
  interface Window {
    __rc?: RcDebug;
  }
}

export function exposeDebug(target: Window): void {
  target.__rc = {
    peerConnectionsOpen: () => peerRegistry.openCount(),
    peerConnectionsCreated: () => peerRegistry.created,
  };
}
