// heartbeat {sentAt} every few seconds while the socket is connected; the
// server echoes sentAt in heartbeat-ack, which gives the round trip, and uses
// the heartbeats for the connection quality it reports.

import { send, type HeartbeatAck, type SignalingSocket, type Untrusted } from './protocol';
import type { Timers } from './timers';

export class Heartbeat {
  private timer: unknown = null;

  constructor(
    private readonly socket: SignalingSocket,
    private readonly timers: Timers,
    private readonly now: () => number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.stop();
    this.timer = this.timers.setInterval(() => {
      if (this.socket.connected) send(this.socket, 'heartbeat', { sentAt: this.now() });
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearInterval(this.timer);
    this.timer = null;
  }

  /** The round trip in ms that an ack reveals, or null for a malformed ack. */
  latencyOf(ack: Untrusted<HeartbeatAck>): number | null {
    return typeof ack?.sentAt === 'number' ? Math.max(0, this.now() - ack.sentAt) : null;
  }
}
