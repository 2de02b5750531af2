// The core of the room's controller (callController.ts): the published
// RoomState, the one transition point of the call state (enter, which releases
// what the old state owned), searches and their retries, and what ends a call
// after Report / Block. CallController adds what the user and the server do to
// it; this file holds what every such input goes through.

import type { CallState, SearchRequest } from './callState';
import { idle, queued, searching, withNotice } from './callState';
import { ChatController } from './chat';
import { defaultChoices, searchOptions, type Choices } from './choices';
import { Heartbeat } from './heartbeat';
import { LastCall, type ModerationTarget } from './lastCall';
import { send, type MediaState, type RateLimited, type SearchAction, type ServerError, type SignalingSocket, type Untrusted } from './protocol';
import { Redial } from './recovery';
import type { CallDeps, RoomState } from './roomState';
import { formatSeconds, sentence, ToastSlot } from './toasts';
import { browserTimers, type Timers } from './timers';
import { t } from '../i18n';

/** A search answered `unavailable` is sent again after this long. */
const UNAVAILABLE_RETRY_MS = 2000;

export abstract class CallCore {
  protected state: RoomState;
  protected readonly listeners = new Set<(s: RoomState) => void>();
  protected readonly socket: SignalingSocket;
  protected readonly now: () => number;
  protected readonly timers: Timers;
  protected readonly choices: () => Choices;
  protected readonly chat: ChatController;
  protected readonly toasts: ToastSlot;
  protected readonly heartbeat: Heartbeat;
  protected readonly lastCall: LastCall;
  /** connects again after a refusal with code 'unavailable' (onConnectError) */
  protected readonly redial: Redial;
  /** the page's count of calls (Matched.callSeq); the wire's callId is a string */
  protected callSeq = 0;
  /** what we send (camera / mic on), told to each partner when the call connects and on every change */
  protected localMedia: MediaState = { video: true, audio: true };
  /** the retry of a rate-limited search; belongs to the Searching state's unanswered request */
  protected retryTimer: unknown = null;
  protected disposed = false;

  constructor(protected readonly deps: CallDeps) {
    this.choices = deps.choices ?? defaultChoices;
    this.socket = deps.socket;
    this.now = deps.now ?? (() => Date.now());
    this.timers = deps.timers ?? browserTimers;
    this.chat = new ChatController({ socket: deps.socket, timers: this.timers, now: this.now, onChange: (chat) => this.set({ chat }), ...deps.chat });
    this.toasts = new ToastSlot(this.timers, (toast) => this.set({ toast }));
    this.lastCall = new LastCall(this.timers, this.now, () => this.set({}));
    this.heartbeat = new Heartbeat(this.socket, this.timers, this.now, deps.heartbeatIntervalMs ?? 5000);
    this.redial = new Redial(this.socket as SignalingSocket & { connect?: () => unknown }, this.timers, this.now);
    this.state = {
      call: idle(),
      socketConnected: deps.socket.connected,
      quality: null,
      latencyMs: null,
      link: deps.socket.connected ? 'online' : 'connecting',
      partnerMedia: null,
      moderationTarget: null,
      chat: this.chat.getState(),
      toast: null,
    };
  }

  getState(): RoomState {
    return this.state;
  }

  subscribe(listener: (s: RoomState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  log(...args: unknown[]): void {
    this.deps.log?.(...args);
  }

  // ---- transitions --------------------------------------------------------

  /**
   * The one way the call state changes. What the old state owned and the new
   * one does not is released here: the match's CallSession and ResumeWait, the
   * search retry.
   */
  protected enter(next: CallState): void {
    this.release(this.state.call, next);
    this.set({ call: next });
  }

  protected release(prev: CallState, next: CallState): void {
    if (prev.phase === 'matched' && (next.phase !== 'matched' || next.callSeq !== prev.callSeq)) {
      prev.session?.close();
      prev.resume?.stop();
      if (this.state.link === 'resuming') this.set({ link: this.state.socketConnected ? 'online' : 'reconnecting' });
      this.lastCall.ended(prev.target);
    }
    const request = prev.phase === 'searching' ? prev.unanswered : null;
    if (next.phase !== 'searching' || next.unanswered !== request) this.clearRetry();
  }

  protected search(action: SearchAction, notice: string | null): void {
    const request: SearchRequest = { action, options: searchOptions(this.choices()) };
    this.enter(searching(request, notice));
    this.emitSearch(request);
  }

  protected emitSearch({ action, options }: SearchRequest): void {
    if (options) send(this.socket, action, options);
    else send(this.socket, action);
  }

  /** After the call ended on our side or theirs: search again or wait for Start. */
  protected afterCall(what: string, searchAgain: string, pressStart: string, action: SearchAction = 'find-partner'): void {
    if (this.choices().autoSearch) this.search(action, `${what} ${searchAgain}`);
    else this.enter(idle(`${what} ${pressStart}`));
  }

  /** The server could not give us our call back: say so and move on (auto-search) or stop. */
  protected resumeFailed(why: string): void {
    const call = this.state.call;
    if (call.phase === 'matched') call.resume?.stop();
    this.set({ link: this.state.socketConnected ? 'online' : this.state.link === 'resuming' ? 'reconnecting' : this.state.link });
    if (call.phase !== 'matched') return;
    const what = t('call.notResumed', { why });
    this.chat.endCall(what);
    this.afterCall(what, t('call.lookingNew'), t('call.pressStartNew'));
  }

  onWaiting(queuePosition: unknown): void {
    const call = this.state.call;
    if (call.phase !== 'searching') return;
    this.enter(queued(call, typeof queuePosition === 'number' ? queuePosition : null));
  }

  /** After block/report: the server ended the call; move on like after partner-left. */
  protected afterModeration(target: ModerationTarget, what: string, detail: string): void {
    const call = this.state.call;
    if (this.lastCall.done(target, call.phase === 'matched' ? call.target : null)) {
      // The call before the current one (the dialog was open when a new match came): the
      // server reports that call by its id and the current call goes on.
      this.toasts.show('info', `${what} ${detail}`, { ttlMs: 5000 });
      return;
    }
    if (call.phase === 'matched') {
      this.chat.endCall(what);
      this.afterCall(what, t('call.lookingNew'), `${detail} ${t('call.pressStartNew')}`);
    } else if (call.phase !== 'banned') {
      // the call had already ended: the log of that call (if still shown) says so
      this.chat.system(what);
      this.enter(withNotice(call, `${what} ${detail}`));
    }
  }

  protected moderationTarget(forCallSeq: number | undefined): ModerationTarget | null {
    const call = this.state.call;
    if (this.disposed || call.phase === 'banned') return null;
    return this.lastCall.pick(forCallSeq, call.phase === 'matched' ? call.target : null);
  }

  onRateLimited(d: Untrusted<RateLimited>): void {
    const retryAfter = Math.max(0, Number(d?.retryAfter) || 1000);
    const message = sentence(d?.message || t('call.tooFast'));
    const timing = { ttlMs: retryAfter + 1500, retryAt: this.now() + retryAfter };
    const call = this.state.call;
    const request = call.phase === 'searching' ? call.unanswered : null;
    if (d?.event === 'chat-message') {
      // the message was not relayed: mark it failed
      this.chat.refuse(d.id, t('chat.refused', { reason: message }));
    } else if (request && request.action === d?.event) {
      return this.retrySearch(request, retryAfter, message);
    }
    this.toasts.show('rate-limit', t('call.tryAgainIn', { message, time: formatSeconds(retryAfter) }), timing);
  }

  onServerError(d: Untrusted<ServerError>): void {
    const event = d?.event;
    const message = d?.message || t('call.serverError');
    // the server answers a connection's events in order: the oldest unanswered message is the one refused
    if (event === 'chat-message' && this.chat.refuseOldest(t('chat.refused', { reason: sentence(withoutEventPrefix(message, event)) }))) return;
    if (event === 'resume-call') return this.resumeFailed(sentence(message));
    const call = this.state.call;
    if (call.phase === 'searching' && call.unanswered && call.unanswered.action === event) {
      // The server's shared state is briefly out of reach (a Redis restart): the
      // same search again shortly, as after a rate limit.
      if (d?.code === 'unavailable') return this.retrySearch(call.unanswered, UNAVAILABLE_RETRY_MS, t('call.briefOutage'));
      if (d?.code === 'refused') {
        // Our state on the server allows no search: we are waiting already
        // (or matched, and match-found is on its way). That is what we wanted.
        this.log('search refused', message);
        this.enter(queued(call, call.queuePosition));
        return;
      }
      // The search itself failed (e.g. an interest the server rejects).
      // 'leave' makes sure the server agrees that we are not waiting.
      send(this.socket, 'leave');
      this.enter(idle());
    }
    this.toasts.show('error', message, { ttlMs: 6000 });
  }

  /** Send the unanswered search again after `delayMs`; enter() clears the timer when the request is moot. */
  protected retrySearch(request: SearchRequest, delayMs: number, message: string): void {
    this.clearRetry();
    this.toasts.show('rate-limit', t('call.retryingIn', { message, time: formatSeconds(delayMs) }), { ttlMs: delayMs + 1500, retryAt: this.now() + delayMs });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.emitSearch(request);
    }, delayMs);
  }

  protected clearRetry(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Publish a new RoomState; partnerMedia and moderationTarget are views of the call state and LastCall. */
  protected set(patch: Partial<RoomState>): void {
    if (this.disposed) return;
    const next = { ...this.state, ...patch };
    const call = next.call;
    next.partnerMedia = call.phase === 'matched' ? call.partnerMedia : null;
    next.moderationTarget = call.phase === 'matched' ? call.target : call.phase === 'banned' ? null : this.lastCall.recent;
    this.state = next;
    for (const l of this.listeners) l(this.state);
  }
}

/** "chat-message: no partner" -> "no partner": the event is known from `event`. */
function withoutEventPrefix(message: string, event: string | undefined): string {
  return event && message.startsWith(`${event}: `) ? message.slice(event.length + 2) : message;
}
