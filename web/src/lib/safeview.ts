// Safe view: the partner's video starts blurred until the user reveals it (a
// per-user setting, on for new users), and the nudity classifier
// (classifier.ts) blurs it again when it sees nudity. With auto-lift (a second
// setting, also on for new users) a clean FIRST verdict reveals by itself, so a
// tap is needed only when the classifier is in doubt (nudity first, or no
// verdict at all). A pure reducer, so that every rule is one line and the unit
// tests cover it. Both settings are kept with the user's other choices (choices.ts).

export interface Veil {
  /** the video is shown unblurred */
  revealed: boolean;
  /** the classifier saw nudity in this call (the report offer stays until the call ends) */
  flagged: boolean;
  /** the last verdict was nudity: a verdict blurs only on the change from clean to nude */
  lastNude: boolean;
  /** a clean first verdict reveals by itself (optional: absent is off) */
  autoLift?: boolean;
  /** a verdict arrived in this call: only the first one may lift the blur */
  judged?: boolean;
}

export type VeilEvent =
  | { type: 'new-call'; safeView: boolean; autoLift?: boolean }
  | { type: 'reveal' }
  | { type: 'setting'; safeView: boolean }
  | { type: 'auto-lift'; on: boolean }
  | { type: 'verdict'; nudity: boolean };

export function startVeil(safeView: boolean, autoLift = false): Veil {
  return { revealed: !safeView, flagged: false, lastNude: false, autoLift, judged: false };
}

export function veil(state: Veil, event: VeilEvent): Veil {
  switch (event.type) {
    case 'new-call':
      return startVeil(event.safeView, event.autoLift ?? false);
    case 'reveal':
      return { ...state, revealed: true };
    case 'setting':
      // turning it on blurs now; turning it off reveals, except a flagged video
      return event.safeView ? { ...state, revealed: false } : { ...state, revealed: state.flagged ? state.revealed : true };
    case 'auto-lift':
      // applies to a first verdict still to come; what was already decided stays
      return { ...state, autoLift: event.on };
    case 'verdict':
      if (!event.nudity) {
        // Only the first verdict lifts: a later clean frame after nudity is not
        // proof enough, and a blur the user chose stays the user's to lift.
        const lift = Boolean(state.autoLift) && !state.judged && !state.flagged;
        return { ...state, lastNude: false, judged: true, revealed: state.revealed || lift };
      }
      // Nudity after a clean verdict blurs again; while it lasts, a user who
      // chose to look again is not blurred over and over.
      return state.lastNude ? { ...state, judged: true } : { ...state, revealed: false, flagged: true, lastNude: true, judged: true };
  }
}
