// Text chat beside the video: the log of one call, sending with acks, and the
// typing indicator in both directions. Plain TypeScript driven by the call
// controller (which tells it when a call starts and ends) and by socket events.

import { listen, send, type ChatAck, type ChatIncoming, type MessageId, type SignalingSocket, type TypingEvent, type Untrusted } from './protocol';
import type { Timers } from './timers';
import { removeUnwanted } from './text';
import { t } from '../i18n';

export const MAX_CHAT_LENGTH = 1000;

export type ChatStatus = 'sending' | 'sent' | 'failed';

export interface ChatLine {
  /** unique in the log (React key) */
  key: string;
  kind: 'own' | 'partner' | 'system';
  text: string;
  /** epoch ms: when sent (own), the server's sentAt (partner), or when it happened */
  at: number;
  /** own lines only */
  status?: ChatStatus;
  /** own lines that failed: why */
  error?: string;
}

export interface ChatState {
  lines: ChatLine[];
  /** a partner is on the line: the input is usable */
  open: boolean;
  partnerName: string | null;
  partnerTyping: boolean;
}

export interface ChatDeps {
  socket: SignalingSocket;
  timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  now: () => number;
  onChange: (state: ChatState) => void;
  /** at most one typing {active: true} per this many ms (default 2000) */
  typingThrottleMs?: number;
  /** typing {active: false} after this long without input (default 3000) */
  typingIdleMs?: number;
  /** the partner's indicator goes away after this long without news (default 6000) */
  partnerTypingTimeoutMs?: number;
  /** an own message without ack after this long is failed (default 10000) */
  ackTimeoutMs?: number;
  /** lines kept in the log (default 200) */
  maxLines?: number;
}

export type SendResult = { ok: true } | { ok: false; error: string };

interface Pending {
  id: string;
  key: string;
  timer: unknown;
}

/** Trim, drop the characters the server drops, and check the length. */
export function prepareChatText(raw: string): { ok: true; text: string } | { ok: false; error: string } {
  const text = removeUnwanted(raw.replace(/[\t\n\r]/g, ' ')).trim();
  if (!text) return { ok: false, error: t('chat.typeFirst') };
  if ([...text].length > MAX_CHAT_LENGTH) return { ok: false, error: t('chat.tooLong', { count: MAX_CHAT_LENGTH }) };
  return { ok: true, text };
}

export class ChatController {
  private state: ChatState = { lines: [], open: false, partnerName: null, partnerTyping: false };
  private readonly deps: ChatDeps;
  private seq = 0;
  private callId: string | null = null;
  /** own messages awaiting chat-message-ack, oldest first (the server answers in order) */
  private pending: Pending[] = [];
  private typingActive = false;
  private lastTypingSentAt = -Infinity;
  private typingIdleTimer: unknown = null;
  private partnerTypingTimer: unknown = null;
  private readonly detach: () => void;

  constructor(deps: ChatDeps) {
    this.deps = deps;
    this.detach = listen(deps.socket, {
      'chat-message': (d) => this.onMessage(d),
      'chat-message-ack': (d) => this.onAck(d),
      typing: (d) => this.onPartnerTyping(d),
    });
  }

  getState(): ChatState {
    return this.state;
  }

  // ---- driven by the call controller ---------------------------------------

  /** A new partner: a fresh log that starts with `intro`; `callId` (the server's, from
   *  match-found) goes with each line, so a line sent as the call ends is not relayed
   *  into the next one. */
  startCall(partnerName: string, intro: string, callId?: string | null): void {
    this.callId = callId ?? null;
    this.failAllPending(t('chat.endedUnconfirmed'));
    this.stopTyping(false);
    this.clearPartnerTyping();
    this.set({ lines: [this.systemLine(intro)], open: true, partnerName, partnerTyping: false });
  }

  /** The call ended; the log stays until the next match. */
  endCall(message: string | null): void {
    if (this.state.open) this.stopTyping(false); // the server drops it with no partner anyway
    this.clearPartnerTyping();
    const lines = message ? [...this.state.lines, this.systemLine(message)] : this.state.lines;
    this.set({ open: false, partnerTyping: false, lines: this.trim(lines) });
  }

  /** A line from the page itself ("Report sent.") */
  system(text: string): void {
    this.set({ lines: this.trim([...this.state.lines, this.systemLine(text)]) });
  }

  /** The socket went away: nothing pending will be answered. */
  connectionLost(): void {
    this.failAllPending(t('chat.lostConnection'));
    this.typingActive = false;
    this.clearTypingIdle();
  }

  /**
   * The server refused message `id` (`rate-limited` for 'chat-message' names
   * it); without a known id, the oldest unanswered one.
   */
  refuse(id: MessageId | undefined, reason: string): boolean {
    const i = this.pending.findIndex((p) => p.id === id);
    return i < 0 ? this.refuseOldest(reason) : this.fail(i, reason);
  }

  /**
   * An `error` for event 'chat-message', which names no message: the oldest
   * unanswered one is refused (the server answers each connection's events
   * in order). Returns false when nothing was waiting for an answer.
   */
  refuseOldest(reason: string): boolean {
    return this.pending.length > 0 && this.fail(0, reason);
  }

  // ---- driven by the page --------------------------------------------------

  send(raw: string): SendResult {
    if (!this.state.open) return { ok: false, error: t('chat.nobody') };
    const prepared = prepareChatText(raw);
    if (!prepared.ok) return prepared;
    const id = `m${++this.seq}`;
    const key = `own-${id}`;
    this.stopTyping(true);
    send(this.deps.socket, 'chat-message', { text: prepared.text, id, ...(this.callId ? { callId: this.callId } : {}) });
    const timer = this.deps.timers.setTimeout(() => {
      const i = this.pending.findIndex((p) => p.id === id);
      if (i < 0) return;
      this.pending.splice(i, 1);
      this.updateLine(key, { status: 'failed', error: t('chat.noAnswer') });
    }, this.deps.ackTimeoutMs ?? 10000);
    this.pending.push({ id, key, timer });
    this.set({ lines: this.trim([...this.state.lines, { key, kind: 'own', text: prepared.text, at: this.deps.now(), status: 'sending' }]) });
    return { ok: true };
  }

  /** The chat input changed (value after the change). */
  input(value: string): void {
    if (!this.state.open) return;
    if (!value.trim()) {
      this.stopTyping(true);
      return;
    }
    const now = this.deps.now();
    const throttle = this.deps.typingThrottleMs ?? 2000;
    if (!this.typingActive || now - this.lastTypingSentAt >= throttle) {
      send(this.deps.socket, 'typing', { active: true });
      this.typingActive = true;
      this.lastTypingSentAt = now;
    }
    this.clearTypingIdle();
    this.typingIdleTimer = this.deps.timers.setTimeout(() => {
      this.typingIdleTimer = null;
      this.stopTyping(true);
    }, this.deps.typingIdleMs ?? 3000);
  }

  /** The chat input lost focus. */
  blur(): void {
    this.stopTyping(true);
  }

  dispose(): void {
    this.detach();
    for (const p of this.pending) this.deps.timers.clearTimeout(p.timer);
    this.pending = [];
    this.clearTypingIdle();
    this.clearPartnerTyping();
  }

  // ---- socket events -------------------------------------------------------

  private onMessage(d: Untrusted<ChatIncoming>): void {
    if (!this.state.open || typeof d?.text !== 'string') return;
    this.clearPartnerTyping();
    const at = typeof d.sentAt === 'number' ? d.sentAt : this.deps.now();
    const line: ChatLine = { key: `partner-${++this.seq}`, kind: 'partner', text: d.text, at };
    this.set({ partnerTyping: false, lines: this.trim([...this.state.lines, line]) });
  }

  private onAck(d: Untrusted<ChatAck>): void {
    const i = this.pending.findIndex((p) => p.id === d?.id);
    if (i < 0) return;
    const [done] = this.pending.splice(i, 1);
    this.deps.timers.clearTimeout(done.timer);
    this.updateLine(done.key, { status: 'sent' });
  }

  private onPartnerTyping(d: Untrusted<TypingEvent>): void {
    if (!this.state.open) return;
    this.clearPartnerTyping();
    if (d?.active === true) {
      this.partnerTypingTimer = this.deps.timers.setTimeout(() => {
        this.partnerTypingTimer = null;
        this.set({ partnerTyping: false });
      }, this.deps.partnerTypingTimeoutMs ?? 6000);
      if (!this.state.partnerTyping) this.set({ partnerTyping: true });
    } else if (this.state.partnerTyping) {
      this.set({ partnerTyping: false });
    }
  }

  // ---- helpers -------------------------------------------------------------

  private stopTyping(tell: boolean): void {
    this.clearTypingIdle();
    if (!this.typingActive) return;
    this.typingActive = false;
    if (tell && this.state.open) send(this.deps.socket, 'typing', { active: false });
  }

  private clearTypingIdle(): void {
    if (this.typingIdleTimer !== null) this.deps.timers.clearTimeout(this.typingIdleTimer);
    this.typingIdleTimer = null;
  }

  private clearPartnerTyping(): void {
    if (this.partnerTypingTimer !== null) this.deps.timers.clearTimeout(this.partnerTypingTimer);
    this.partnerTypingTimer = null;
  }

  private fail(index: number, reason: string): true {
    const [refused] = this.pending.splice(index, 1);
    this.deps.timers.clearTimeout(refused.timer);
    this.updateLine(refused.key, { status: 'failed', error: reason });
    return true;
  }

  private failAllPending(reason: string): void {
    const failed = this.pending;
    this.pending = [];
    for (const p of failed) {
      this.deps.timers.clearTimeout(p.timer);
      this.updateLine(p.key, { status: 'failed', error: reason });
    }
  }

  private updateLine(key: string, patch: Partial<ChatLine>): void {
    if (!this.state.lines.some((l) => l.key === key)) return;
    this.set({ lines: this.state.lines.map((l) => (l.key === key ? { ...l, ...patch } : l)) });
  }

  private systemLine(text: string): ChatLine {
    return { key: `system-${++this.seq}`, kind: 'system', text, at: this.deps.now() };
  }

  private trim(lines: ChatLine[]): ChatLine[] {
    const max = this.deps.maxLines ?? 200;
    return lines.length > max ? lines.slice(lines.length - max) : lines;
  }

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    this.deps.onChange(this.state);
  }
}
