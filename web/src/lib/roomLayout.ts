// What the room shows where, decided once from the call's phase (tested in
// test/roomLayout.test.ts; the components only follow).
//
// On a phone the room is calm: between calls one primary action (Start), the
// last call (report, block) and one Settings button whose sheet holds every
// other choice; in a call the Settings button opens the camera and microphone
// pickers instead. The button row keeps the same slots in every phase (Start and
// Next share the first), so a Next that searches for half a second changes labels,
// not the layout: nothing flashes in and out.

import type { CallState } from './callState';
import type { Mode } from './mode';

/** Phone widths, where the secondary controls move into the sheet (styles.css uses the same width). */
export const PHONE_QUERY = '(max-width: 640px)';

export type Phase = CallState['phase'];

/** The one button drawn as the primary action: Start out of a call, Next in one. */
export function primaryAction(phase: Phase): 'start' | 'next' {
  return phase === 'matched' ? 'next' : 'start';
}

/**
 * What the sheet holds: between calls every choice ("all"); in a video call with
 * a camera, the device pickers ("devices"); in a text call nothing to choose.
 */
export function sheetContents(phase: Phase, mode: Mode, hasStream: boolean): 'all' | 'devices' | 'none' {
  if (phase === 'banned') return 'none';
  if (phase !== 'matched') return 'all';
  return mode === 'video' && hasStream ? 'devices' : 'none';
}
