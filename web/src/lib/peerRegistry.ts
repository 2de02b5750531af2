// Counts the RTCPeerConnections the page created that are not closed yet
// (read from the browser's own signalingState, not from our bookkeeping).
// Exposed as window.__rc.peerConnectionsOpen() for tests and debugging.

import type { PeerFactory } from './callController';

export class PeerRegistry {
  private live = new Set<RTCPeerConnection>();
  created = 0;

  wrap(factory: PeerFactory): PeerFactory {
    return (config) => {
      this.prune();
      const pc = factory(config);
      this.created += 1;
      this.live.add(pc);
      return pc;
    };
  }

  /** Number of peer connections created and not yet closed. */
  openCount(): number {
    this.prune();
    return this.live.size;
  }

  private prune(): void {
    for (const pc of this.live) if (pc.signalingState === 'closed') this.live.delete(pc);
  }
}
