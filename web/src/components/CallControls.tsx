import type { CameraState } from '../lib/camera';
import type { RoomState } from '../lib/callController';
import type { Mode } from '../lib/mode';
import { SHORTCUT_LABELS } from '../lib/shortcuts';
import { PrivacyChoice } from './PrivacyChoice';
import { useT } from '../i18n';

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
  const t = useT();
  const phase = state?.call.phase ?? 'idle';
  const hasMedia = Boolean(cam.stream) && mode === 'video';
  return (
    <nav className="controls" aria-label={t('controls.label')}>
      <div className="main-buttons">
        <button
          type="button"
          className="btn primary"
          data-testid="start"
          aria-label={t('controls.startLabel')}
          disabled={!state?.socketConnected || phase !== 'idle' || cam.busy}
          onClick={actions.start}
        >
          {t('controls.start')}
        </button>
        <button
          type="button"
          className="btn"
          data-testid="next"
          title={t('controls.nextTitle')}
          aria-keyshortcuts={SHORTCUT_LABELS.next.aria}
          disabled={phase !== 'matched'}
          onClick={actions.next}
        >
          {t('controls.next')} <kbd>{SHORTCUT_LABELS.next.key}</kbd>
        </button>
        <button
          type="button"
          className="btn danger"
          data-testid="stop"
          title={t('controls.stopTitle')}
          aria-keyshortcuts={SHORTCUT_LABELS.stop.aria}
          disabled={phase === 'idle' && !hasMedia}
          onClick={actions.stop}
        >
          {t('controls.stop')} <kbd>{SHORTCUT_LABELS.stop.key}</kbd>
        </button>
      </div>
      <div className="toggles">
        {phase !== 'matched' ? (
          <fieldset className="mode-choice" disabled={phase !== 'idle'}>
            <legend>{t('controls.chatBy')}</legend>
            <label className="check">
              <input type="radio" name="mode" value="video" data-testid="mode-video" checked={mode === 'video'} onChange={() => actions.setMode('video')} />
              {t('controls.video')}
            </label>
            <label className="check">
              <input type="radio" name="mode" value="text" data-testid="mode-text" checked={mode === 'text'} onChange={() => actions.setMode('text')} />
              {t('controls.textOnly')}
            </label>
          </fieldset>
        ) : null}
        {mode === 'video' ? (
          <>
        <button
          type="button"
          className={`btn toggle ${cam.micOn ? '' : 'off'}`}
          data-testid="mute"
          title={cam.micOn ? t('controls.micOnTitle') : t('controls.micOffTitle')}
          disabled={!hasMedia}
          onClick={() => actions.setMic(!cam.micOn)}
        >
          {/* the label names the action, so it is the accessible name too (no aria-pressed on a changing label) */}
          {cam.micOn ? t('controls.mute') : t('controls.unmute')}
        </button>
        <button
          type="button"
          className={`btn toggle ${cam.camOn ? '' : 'off'}`}
          data-testid="camera"
          title={cam.camOn ? t('controls.camOnTitle') : t('controls.camOffTitle')}
          disabled={!hasMedia}
          onClick={() => actions.setCamera(!cam.camOn)}
        >
          {cam.camOn ? t('controls.stopVideo') : t('controls.startVideo')}
        </button>
          </>
        ) : null}
        <label className="check">
          <input type="checkbox" data-testid="auto-search" checked={state?.autoSearch ?? true} onChange={(e) => actions.setAutoSearch(e.target.checked)} />
          {t('controls.autoSearch')}
        </label>
        <PrivacyChoice checked={state?.privacy ?? false} onChange={(on) => actions.setPrivacy(on)} />
        {mode === 'video' ? (
          <label className="check" title={t('controls.safeViewTitle')}>
            <input type="checkbox" data-testid="safe-view" checked={safeView} onChange={(e) => actions.setSafeView(e.target.checked)} />
            {t('controls.safeView')}
          </label>
        ) : null}
      </div>
    </nav>
  );
}
