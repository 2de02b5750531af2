// Telling someone whose tab is in the background that a partner arrived: a
// short tone made with WebAudio (no asset), the tab's title, and a vibration
// on phones that allow it. Each can be turned off; the choices are kept with
// the user's other choices (choices.ts). Browsers only let a page play sound after the user
// interacted with it, so the AudioContext is created on the first gesture
// (`prime`), and vibrate() is allowed only with user activation too: where it
// is not, the call is a no-op.

import { t } from '../i18n';

export interface NotifyChoices {
  sound: boolean;
  title: boolean;
  vibrate: boolean;
}

/** What the notifier needs from the page (the browser's objects; fakes in tests). */
export interface NotifyEnv {
  doc: { hidden: boolean; title: string; addEventListener(type: 'visibilitychange', fn: () => void): void; removeEventListener(type: 'visibilitychange', fn: () => void): void };
  createAudio?: () => AudioContextLike | null;
  vibrate?: (pattern: number | number[]) => boolean;
  choices: () => NotifyChoices;
}

export interface AudioContextLike {
  readonly currentTime: number;
  readonly state: string;
  readonly destination: unknown;
  resume(): Promise<void>;
  createOscillator(): { frequency: { setValueAtTime(v: number, t: number): void }; type: string; connect(n: unknown): unknown; start(t: number): void; stop(t: number): void };
  createGain(): { gain: { setValueAtTime(v: number, t: number): void; exponentialRampToValueAtTime(v: number, t: number): void }; connect(n: unknown): unknown };
}

export class MatchNotifier {
  private audio: AudioContextLike | null = null;
  private savedTitle: string | null = null;
  private readonly restore = () => this.restoreTitle();

  constructor(private readonly env: NotifyEnv) {}

  /** On a user gesture: make the audio context while the browser allows it. */
  prime(): void {
    if (this.audio || !this.env.createAudio) return;
    try {
      this.audio = this.env.createAudio();
    } catch {
      this.audio = null; // no WebAudio: no sound
    }
  }

  /** A partner arrived. Only a hidden tab is told (the visible page shows it anyway). */
  match(partnerName: string): { sound: boolean; title: boolean; vibrate: boolean } {
    const choices = this.env.choices();
    const done = { sound: false, title: false, vibrate: false };
    if (choices.vibrate && this.env.vibrate) done.vibrate = this.env.vibrate([120, 60, 120]);
    if (!this.env.doc.hidden) return done;
    if (choices.sound) done.sound = this.beep();
    if (choices.title) {
      if (this.savedTitle === null) {
        this.savedTitle = this.env.doc.title;
        this.env.doc.addEventListener('visibilitychange', this.restore);
      }
      this.env.doc.title = t('notify.title', { name: partnerName });
      done.title = true;
    }
    return done;
  }

  dispose(): void {
    this.restoreTitle();
  }

  private restoreTitle(): void {
    if (this.savedTitle === null || this.env.doc.hidden) return;
    this.env.doc.title = this.savedTitle;
    this.savedTitle = null;
    this.env.doc.removeEventListener('visibilitychange', this.restore);
  }

  /** Two short sine tones (660 then 880 Hz, 0.3 s in all) with a soft fade. */
  private beep(): boolean {
    const ctx = this.audio;
    if (!ctx) return false;
    if (ctx.state === 'suspended') void ctx.resume().catch(() => {});
    const t0 = ctx.currentTime;
    [660, 880].forEach((hz, i) => {
      const start = t0 + i * 0.15;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(hz, start);
      gain.gain.setValueAtTime(0.2, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.14);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.15);
    });
    return true;
  }
}

/** The notifier for this page: its document, WebAudio, navigator.vibrate, and the user's current `choices`. */
export function browserNotifier(win: Window, choices: () => NotifyChoices): MatchNotifier {
  const AudioCtor = (win as unknown as { AudioContext?: new () => AudioContextLike }).AudioContext;
  const nav = win.navigator as Navigator & { vibrate?: (p: number | number[]) => boolean };
  return new MatchNotifier({
    doc: win.document,
    createAudio: AudioCtor ? () => new AudioCtor() : undefined,
    vibrate: typeof nav.vibrate === 'function' ? (p) => nav.vibrate!(p) : undefined,
    choices,
  });
}
