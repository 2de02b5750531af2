// The languages of the page and how one is chosen. Pure (no i18next, no DOM):
// the choice logic is unit-tested in Node.
import type { en } from './en';

export const LANGUAGES = {
  en: { name: 'English', dir: 'ltr' },
  es: { name: 'Español', dir: 'ltr' },
  ar: { name: 'العربية', dir: 'rtl' },
} as const;

export type Language = keyof typeof LANGUAGES;
export const SUPPORTED = Object.keys(LANGUAGES) as Language[];
export const DEFAULT_LANGUAGE: Language = 'en';
/** localStorage key of the choice made with the switch on the page */
export const STORAGE_KEY = 'language';

/** Every key of the source language, plural forms included ("x_one", "x_other"). */
export type Key = keyof typeof en;
type PluralBase<K> = K extends `${infer B}_one` ? B : K extends `${infer B}_other` ? B : never;
/** Keys with plural forms, without their suffix: call them with {count}. */
export type PluralKey = PluralBase<Key>;
/** What code asks for: a plain key, or a plural key without its suffix. */
export type MessageKey = Exclude<Key, `${PluralKey}_one` | `${PluralKey}_other`> | PluralKey;
/** A translation: exactly the keys of English (a missing key fails tsc). */
export type Translation = Record<Key, string>;
/**
 * Languages with more plural forms than English (Arabic has zero, one, two,
 * few, many and other) add them beside `_one` / `_other`; the unit tests check
 * that each language has every form Intl.PluralRules asks for.
 */
export type TranslationWithPlurals = Translation & Partial<Record<`${PluralKey}_${'zero' | 'two' | 'few' | 'many'}`, string>>;

export function isLanguage(tag: unknown): tag is Language {
  return typeof tag === 'string' && (SUPPORTED as string[]).includes(tag);
}

/**
 * The page's language: the one chosen on the page (remembered), else the
 * first of the browser's languages that we have (by exact tag, then by its
 * primary subtag: "es-MX" → es, "ar-EG" → ar), else English.
 */
export function pickLanguage(preferred: readonly string[], stored: string | null = null): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of preferred) {
    const lower = String(tag).toLowerCase();
    if (isLanguage(lower)) return lower;
    const primary = lower.split(/[-_]/)[0];
    if (isLanguage(primary)) return primary;
  }
  return DEFAULT_LANGUAGE;
}

export function directionOf(lang: Language): 'ltr' | 'rtl' {
  return LANGUAGES[lang].dir;
}
