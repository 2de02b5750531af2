import type { Mode } from '../lib/mode';
import { PrivacyChoice } from './PrivacyChoice';
import { useT } from '../i18n';

export interface SearchChoices {
  phase: string;
  mode: Mode;
  autoSearch: boolean;
  privacy: boolean;
  safeView: boolean;
  setMode(mode: Mode): void;
  setAutoSearch(on: boolean): void;
  setPrivacy(on: boolean): void;
  setSafeView(on: boolean): void;
  /** safe view's blur lifts by itself on a clean first verdict */
  autoLift?: boolean;
  setAutoLift?(on: boolean): void;
}

/** How the next search goes: video or text, searching again by itself, relay only, safe view. */
export function SearchOptions({ c }: { c: SearchChoices }) {
  const t = useT();
  return (
    <div className="search-options">
      {c.phase !== 'matched' ? (
        <fieldset className="mode-choice" disabled={c.phase !== 'idle'}>
          <legend>{t('controls.chatBy')}</legend>
          <label className="check">
            <input type="radio" name="mode" value="video" data-testid="mode-video" checked={c.mode === 'video'} onChange={() => c.setMode('video')} />
            {t('controls.video')}
          </label>
          <label className="check">
            <input type="radio" name="mode" value="text" data-testid="mode-text" checked={c.mode === 'text'} onChange={() => c.setMode('text')} />
            {t('controls.textOnly')}
          </label>
        </fieldset>
      ) : null}
      <label className="check">
        <input type="checkbox" data-testid="auto-search" checked={c.autoSearch} onChange={(e) => c.setAutoSearch(e.target.checked)} />
        {t('controls.autoSearch')}
      </label>
      <PrivacyChoice checked={c.privacy} onChange={c.setPrivacy} />
      {c.mode === 'video' ? (
        <label className="check" title={t('controls.safeViewTitle')}>
          <input type="checkbox" data-testid="safe-view" checked={c.safeView} onChange={(e) => c.setSafeView(e.target.checked)} />
          {t('controls.safeView')}
        </label>
      ) : null}
      {c.mode === 'video' && c.safeView && c.setAutoLift ? (
        <label className="check" title={t('controls.autoLiftTitle')}>
          <input type="checkbox" data-testid="safe-view-auto-lift" checked={c.autoLift ?? true} onChange={(e) => c.setAutoLift?.(e.target.checked)} />
          {t('controls.autoLift')}
        </label>
      ) : null}
    </div>
  );
}
