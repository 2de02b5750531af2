import { useId } from 'react';
import { MAX_LANGUAGES } from '../lib/protocol';
import { language, useT } from '../i18n';

/** Languages offered to add (ISO 639-1), the most spoken first; the page's own are among them. */
const SPOKEN = ['en', 'es', 'ar', 'zh', 'hi', 'fr', 'pt', 'ru', 'de', 'ja', 'bn', 'id', 'tr', 'it', 'ko', 'vi', 'pl', 'nl', 'uk', 'fa', 'ur', 'sw', 'th', 'el'];

/** A language's name in the page's language ("Deutsch" in German, "German" in English). */
export function languageName(code: string): string {
  try {
    return new Intl.DisplayNames([language()], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

/**
 * The languages the user speaks (the page's own by default): a partner who speaks
 * one is preferred, anyone after a few seconds unless "only" is ticked. Changes
 * apply to the next search, like interests.
 */
export function LanguagesChoice({
  languages,
  only,
  onChange,
}: {
  languages: string[];
  only: boolean;
  onChange(patch: { languages?: string[]; languagesOnly?: boolean }): void;
}) {
  const t = useT();
  const addId = useId();
  const addable = SPOKEN.filter((code) => !languages.includes(code));
  return (
    <fieldset className="languages-choice" data-testid="languages">
      <legend>{t('languages.legend')}</legend>
      <ul className="chips">
        {languages.map((code) => (
          <li key={code} className="chip" data-testid={`language-${code}`}>
            <span className="chip-text">{languageName(code)}</span>
            <button type="button" className="chip-remove" aria-label={t('languages.remove', { name: languageName(code) })} onClick={() => onChange({ languages: languages.filter((c) => c !== code) })}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {languages.length < MAX_LANGUAGES ? (
        <label htmlFor={addId}>
          <span className="sr-only">{t('languages.add')}</span>
          <select id={addId} data-testid="language-add" value="" onChange={(e) => e.target.value && onChange({ languages: [...languages, e.target.value] })}>
            <option value="">{t('languages.add')}</option>
            {addable.map((code) => (
              <option key={code} value={code}>
                {languageName(code)}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {languages.length ? (
        <label className="check">
          <input type="checkbox" data-testid="languages-only" checked={only} onChange={(e) => onChange({ languagesOnly: e.target.checked })} />
          {t('languages.only')}
        </label>
      ) : null}
    </fieldset>
  );
}
