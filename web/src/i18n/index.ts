// The page's one i18n instance (i18next, bound to React by react-i18next). The
// translations are bundled (no fetching; the CSP allows same-origin only) and
// initialised synchronously at import, so any module may call `t`.
//
// Strings that the page keeps in its state (a notice, a chat system line, a
// toast) are translated when they are made: after a switch they stay in the
// language they were said in; everything rendered from a key changes at once.
import i18next from 'i18next';
import { initReactI18next, useTranslation } from 'react-i18next';
import { ar } from './ar';
import { en } from './en';
import { es } from './es';
import { directionOf, isLanguage, pickLanguage, STORAGE_KEY, SUPPORTED, type Language, type MessageKey } from './languages';

export { LANGUAGES, SUPPORTED, type Language, type MessageKey } from './languages';

export const resources = { en, es, ar } as const;

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null; // storage blocked (privacy settings)
  }
}

/** In a browser: the remembered choice or the browser's languages; elsewhere (unit tests in Node): English. */
function initialLanguage(): Language {
  if (typeof window === 'undefined' || typeof navigator === 'undefined') return 'en';
  let stored: string | null = null;
  try {
    stored = storage()?.getItem(STORAGE_KEY) ?? null;
  } catch {
    stored = null;
  }
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  return pickLanguage(preferred, stored);
}

const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources: Object.fromEntries(SUPPORTED.map((lng) => [lng, { translation: resources[lng] }])),
  lng: initialLanguage(),
  fallbackLng: 'en',
  supportedLngs: SUPPORTED,
  // flat keys such as "chat.send": no nesting, no namespaces in keys
  keySeparator: false,
  nsSeparator: false,
  // React escapes text itself; escaping here would show "&amp;" in names
  interpolation: { escapeValue: false },
  initAsync: false,
});

function applyToDocument(lang: Language): void {
  if (typeof document === 'undefined') return;
  document.documentElement.lang = lang;
  document.documentElement.dir = directionOf(lang);
}

i18n.on('languageChanged', (lng: string) => {
  if (isLanguage(lng)) applyToDocument(lng);
});
applyToDocument(language());

/** The language in use. */
export function language(): Language {
  const lng = i18n.resolvedLanguage ?? i18n.language;
  return isLanguage(lng) ? lng : 'en';
}

/** Switch the page's language and remember the choice on this device. */
export function setLanguage(lang: Language): void {
  try {
    storage()?.setItem(STORAGE_KEY, lang);
  } catch {
    /* private mode or full: the choice lasts for this page only */
  }
  void i18n.changeLanguage(lang);
}

/** A message in the current language; `count` picks the plural form, other values fill {{placeholders}}. */
export function t(key: MessageKey, values?: Record<string, string | number>): string {
  return i18n.t(key, values) as string;
}

/** `t` in a component: the component renders again when the language changes. */
export function useT(): typeof t {
  useTranslation();
  return t;
}

export { i18n };
