// The one message toast of the room: at most one at a time (a newer one
// replaces it), gone after its time to live or when dismissed.

import type { Timers } from './timers';
import { t } from '../i18n';

/** What a toast is about, so that the news that ends it can clear it. */
export type ToastTopic = 'connection';

export interface Toast {
  id: number;
  kind: 'error' | 'rate-limit' | 'info';
  message: string;
  /** for rate limits: epoch ms at which the client retries / may retry */
  retryAt?: number;
  topic?: ToastTopic;
}

export interface ToastOptions {
  /** ms on screen; 0 keeps it until dismissed or replaced */
  ttlMs: number;
  retryAt?: number;
  topic?: ToastTopic;
}

export class ToastSlot {
  private current: Toast | null = null;
  private seq = 0;
  private timer: unknown = null;

  constructor(
    private readonly timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>,
    private readonly onChange: (toast: Toast | null) => void,
  ) {}

  show(kind: Toast['kind'], message: string, { ttlMs, retryAt, topic }: ToastOptions): void {
    this.clearTimer();
    const toast: Toast = { id: ++this.seq, kind, message, ...(retryAt !== undefined ? { retryAt } : {}), ...(topic ? { topic } : {}) };
    this.current = toast;
    this.onChange(toast);
    if (ttlMs > 0) this.timer = this.timers.setTimeout(() => this.clear(), ttlMs);
  }

  /** Remove the toast; with `topic`, only a toast about that. */
  clear(topic?: ToastTopic): void {
    if (!this.current || (topic && this.current.topic !== topic)) return;
    this.clearTimer();
    this.current = null;
    this.onChange(null);
  }

  dispose(): void {
    this.clearTimer();
    this.current = null;
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** "0.8 s", "12 s" */
export function formatSeconds(ms: number): string {
  return t('call.seconds', { n: (ms / 1000).toFixed(ms < 10000 ? 1 : 0) });
}

/** The server's message as a sentence: it ends with a full stop. */
export function sentence(text: string): string {
  const t = text.trim();
  return /[.!?…]$/.test(t) ? t : `${t}.`;
}
