import { language, LANGUAGES, setLanguage, SUPPORTED, useT, type Language } from '../i18n';

/**
 * The page's language: a small labelled <select> (keyboard accessible as any
 * select). Each language is named in itself, with its own `lang`, so a screen
 * reader says "Español" and "العربية" properly. The choice is remembered on
 * this device (setLanguage) and wins over the browser's languages.
 */
export function LanguageSwitch() {
  const t = useT();
  return (
    // named by aria-label alone: a wrapping <label> would add the chosen option to the name
    <select
      className="language-switch"
      data-testid="language"
      value={language()}
      aria-label={t('language.label')}
      title={t('language.label')}
      onChange={(e) => setLanguage(e.target.value as Language)}
    >
      {SUPPORTED.map((lng) => (
        <option key={lng} value={lng} lang={lng}>
          {LANGUAGES[lng].name}
        </option>
      ))}
    </select>
  );
}
