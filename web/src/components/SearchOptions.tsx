import type { Choices } from '../lib/choices';
import { LanguagesChoice } from './LanguagesChoice';
import { PrivacyChoice } from './PrivacyChoice';
import { useT } from '../i18n';

/** How the next search goes: video or text, the languages spoken, searching again by itself, relay only, safe view. */
export function SearchOptions({ phase, choices: c, change }: { phase: string; choices: Choices; change: (patch: Partial<Choices>) => void }) {
  const t = useT();
  return (
    <div className="search-options">
      {phase !== 'matched' ? (
        <fieldset className="mode-choice" disabled={phase !== 'idle'}>
          <legend>{t('controls.chatBy')}</legend>
          <label className="check">
            <input type="radio" name="mode" value="video" data-testid="mode-video" checked={c.mode === 'video'} onChange={() => change({ mode: 'video' })} />
            {t('controls.video')}
          </label>
          <label className="check">
            <input type="radio" name="mode" value="text" data-testid="mode-text" checked={c.mode === 'text'} onChange={() => change({ mode: 'text' })} />
            {t('controls.textOnly')}
          </label>
        </fieldset>
      ) : null}
      {phase !== 'matched' ? <LanguagesChoice languages={c.languages} only={c.languagesOnly} onChange={change} /> : null}
      <label className="check">
        <input type="checkbox" data-testid="auto-search" checked={c.autoSearch} onChange={(e) => change({ autoSearch: e.target.checked })} />
        {t('controls.autoSearch')}
      </label>
      <PrivacyChoice checked={c.privacy} onChange={(privacy) => change({ privacy })} />
      {c.mode === 'video' ? (
        <label className="check" title={t('controls.safeViewTitle')}>
          <input type="checkbox" data-testid="safe-view" checked={c.safeView} onChange={(e) => change({ safeView: e.target.checked })} />
          {t('controls.safeView')}
        </label>
      ) : null}
      {c.mode === 'video' && c.safeView ? (
        <label className="check" title={t('controls.autoLiftTitle')}>
          <input type="checkbox" data-testid="safe-view-auto-lift" checked={c.autoLift} onChange={(e) => change({ autoLift: e.target.checked })} />
          {t('controls.autoLift')}
        </label>
      ) : null}
    </div>
  );
}
