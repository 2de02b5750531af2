import type { CameraState } from '../lib/camera';
import type { RoomState } from '../lib/callController';
import type { Mode } from '../lib/mode';
import { SHORTCUT_LABELS } from '../lib/shortcuts';

export interface CallActions {
  start(): void;
  next(): void;
  stop(): void;
  setMic(on: boolean): void;
  setCamera(on: boolean): void;
  setAutoSearch(on: boolean): void;
  setPrivacy(on: boolean): void;
  setSafeView(on: boolean): void;
  setMode(mode: Mode): void;
}

/** Start / Next / Stop, the mic and camera toggles, and the two search options. */
export function CallControls({
  state,
  cam,
  actions,
  mode = 'video',
  safeView = true,
}: {
  state: RoomState | null;
  cam: CameraState;
  actions: CallActions;
  mode?: Mode;
  /** blur the partner's video until revealed (safeview.ts) */
  safeView?: boolean;
}) {
  const phase = state?.call.phase ?? 'idle';
  const hasMedia = Boolean(cam.stream) && mode === 'video';
  return (
    <nav className="controls" aria-label="Call controls">
      <div className="main-buttons">
        <button
          type="button"
          className="btn primary"
          data-testid="start"
          aria-label="Start: find a partner"
          disabled={!state?.socketConnected || phase !== 'idle' || cam.busy}
          onClick={actions.start}
        >
          Start
        </button>
        <button
          type="button"
          className="btn"
          data-testid="next"
          title="End this call and find someone new"
          aria-keyshortcuts={SHORTCUT_LABELS.next.aria}
          disabled={phase !== 'matched'}
          onClick={actions.next}
        >
          Next <kbd>{SHORTCUT_LABELS.next.key}</kbd>
        </button>
        <button
          type="button"
          className="btn danger"
          data-testid="stop"
          title="End everything and turn the camera off"
          aria-keyshortcuts={SHORTCUT_LABELS.stop.aria}
          disabled={phase === 'idle' && !hasMedia}
          onClick={actions.stop}
        >
          Stop <kbd>{SHORTCUT_LABELS.stop.key}</kbd>
        </button>
      </div>
      <div className="toggles">
        {phase !== 'matched' ? (
          <fieldset className="mode-choice" disabled={phase !== 'idle'}>
            <legend>Chat by</legend>
            <label className="check">
              <input type="radio" name="mode" value="video" data-testid="mode-video" checked={mode === 'video'} onChange={() => actions.setMode('video')} />
              Video
            </label>
            <label className="check">
              <input type="radio" name="mode" value="text" data-testid="mode-text" checked={mode === 'text'} onChange={() => actions.setMode('text')} />
              Text only
            </label>
          </fieldset>
        ) : null}
        {mode === 'video' ? (
          <>
        <button
          type="button"
          className={`btn toggle ${cam.micOn ? '' : 'off'}`}
          data-testid="mute"
          title={cam.micOn ? 'Your partner hears you' : 'Your microphone is muted'}
          disabled={!hasMedia}
          onClick={() => actions.setMic(!cam.micOn)}
        >
          {/* the label names the action, so it is the accessible name too (no aria-pressed on a changing label) */}
          {cam.micOn ? 'Mute' : 'Unmute'}
        </button>
        <button
          type="button"
          className={`btn toggle ${cam.camOn ? '' : 'off'}`}
          data-testid="camera"
          title={cam.camOn ? 'Your partner sees you' : 'Your camera is off'}
          disabled={!hasMedia}
          onClick={() => actions.setCamera(!cam.camOn)}
        >
          {cam.camOn ? 'Stop video' : 'Start video'}
        </button>
          </>
        ) : null}
        <label className="check">
          <input type="checkbox" data-testid="auto-search" checked={state?.autoSearch ?? true} onChange={(e) => actions.setAutoSearch(e.target.checked)} />
          Search again when a partner leaves
        </label>
        <label className="check" title="Calls go through the relay server, so partners cannot learn your IP address (may cost a little quality). Applies from the next search.">
          <input type="checkbox" data-testid="privacy" checked={state?.privacy ?? false} onChange={(e) => actions.setPrivacy(e.target.checked)} />
          Hide my IP (relay only)
        </label>
        {mode === 'video' ? (
          <label className="check" title="Your partner's video stays blurred until you choose to see it; video that looks like nudity is blurred again.">
            <input type="checkbox" data-testid="safe-view" checked={safeView} onChange={(e) => actions.setSafeView(e.target.checked)} />
            Safe view (blur until I tap)
          </label>
        ) : null}
      </div>
    </nav>
  );
}
