import type { CameraState } from '../lib/camera';
import type { RoomState } from '../lib/callController';
import type { ReactNode } from 'react';
import type { Mode } from '../lib/mode';
import { primaryAction } from '../lib/roomLayout';
import { SHORTCUT_LABELS } from '../lib/shortcuts';
import { useT } from '../i18n';

export interface CallActions {
  start(): void;
  next(): void;
  stop(): void;
  setMic(on: boolean): void;
  setCamera(on: boolean): void;
}

/**
 * Start / Next / Stop and the mic and camera toggles, in the same slots in every
 * phase; `options` (the search choices, where the page has room for them) and
 * `extra` (a phone's Settings button) go at the end.
 */
export function CallControls({
  state,
  cam,
  actions,
  mode = 'video',
  options = null,
  extra = null,
}: {
  state: RoomState | null;
  cam: CameraState;
  actions: CallActions;
  mode?: Mode;
  options?: ReactNode;
  extra?: ReactNode;
}) {
  const t = useT();
  const phase = state?.call.phase ?? 'idle';
  const hasMedia = Boolean(cam.stream) && mode === 'video';
  const primary = primaryAction(phase);
  return (
    <nav className="controls" aria-label={t('controls.label')}>
      <div className="main-buttons">
        <button
          type="button"
          className={`btn ${primary === 'start' ? 'primary' : ''}`}
          data-testid="start"
          aria-label={t('controls.startLabel')}
          disabled={!state?.socketConnected || phase !== 'idle' || cam.busy}
          onClick={actions.start}
        >
          {t('controls.start')}
        </button>
        <button
          type="button"
          className={`btn ${primary === 'next' ? 'primary' : ''}`}
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
        {extra}
      </div>
      {options ? <div className="toggles">{options}</div> : null}
    </nav>
  );
}
