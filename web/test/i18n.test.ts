import { afterEach, describe, expect, it } from 'vitest';
import { i18n, resources, t } from '../src/i18n';
import { directionOf, pickLanguage, SUPPORTED } from '../src/i18n/languages';
import { formatTimeLeft, validateReport } from '../src/lib/moderation';
import { addInterests } from '../src/lib/interests';

const PLURAL = /_(zero|one|two|few|many|other)$/;
const base = (key: string) => key.replace(PLURAL, '');
const placeholders = (text: string) => [...text.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();
const table = (lng: string) => resources[lng as keyof typeof resources] as Record<string, string>;
const en = table('en');
const pluralBases = new Set(Object.keys(en).filter((k) => PLURAL.test(k)).map(base));

describe('translations', () => {
  it.each(SUPPORTED)('%s has every key of English and no other (plural forms aside)', (lng) => {
    const keys = Object.keys(table(lng));
    expect(new Set(keys.map(base))).toEqual(new Set(Object.keys(en).map(base)));
    // a suffix only on keys that are plural in English
    for (const key of keys) if (PLURAL.test(key)) expect(pluralBases.has(base(key)), key).toBe(true);
  });

  it.each(SUPPORTED)('%s has every plural form its language needs (Intl.PluralRules)', (lng) => {
    const forms = new Intl.PluralRules(lng).resolvedOptions().pluralCategories;
    for (const key of pluralBases) {
      for (const form of forms) expect(table(lng), `${lng}: ${key}_${form}`).toHaveProperty(`${key}_${form}`);
    }
    if (lng === 'ar') expect(forms).toEqual(expect.arrayContaining(['zero', 'one', 'two', 'few', 'many', 'other']));
  });

  it.each(SUPPORTED)('%s: no empty text, and the same {{placeholders}} as English', (lng) => {
    for (const [key, text] of Object.entries(table(lng))) {
      expect(text.trim(), `${lng}: ${key}`).not.toBe('');
      if (PLURAL.test(key)) {
        // a form may spell its number out ("ثانيتين"), but never invent a value
        const allowed = new Set(placeholders(en[`${base(key)}_other`]));
        for (const p of placeholders(text)) expect(allowed.has(p), `${lng}: ${key} {{${p}}}`).toBe(true);
        if (key.endsWith('_other')) expect(placeholders(text), `${lng}: ${key}`).toEqual(placeholders(en[key]));
      } else {
        expect(placeholders(text), `${lng}: ${key}`).toEqual(placeholders(en[key]));
      }
    }
  });
});

describe('choosing the language', () => {
  it('takes the first of the browser languages that the page has', () => {
    expect(pickLanguage(['ar-EG', 'en-US'])).toBe('ar');
    expect(pickLanguage(['fr-FR', 'es-MX', 'en'])).toBe('es');
    expect(pickLanguage(['de', 'fr'])).toBe('en');
    expect(pickLanguage([])).toBe('en');
    expect(pickLanguage(['EN-gb', 'ar'])).toBe('en');
    expect(pickLanguage(['zh-Hant-TW', 'es_ES'])).toBe('es');
  });

  it('a choice made on the page wins over the browser, an unknown one does not', () => {
    expect(pickLanguage(['en-US'], 'ar')).toBe('ar');
    expect(pickLanguage(['es'], 'klingon')).toBe('es');
    expect(pickLanguage(['es'], null)).toBe('es');
  });

  it('Arabic is right to left, the others left to right', () => {
    expect(SUPPORTED.map((l) => [l, directionOf(l)])).toEqual([
      ['en', 'ltr'],
      ['es', 'ltr'],
      ['ar', 'rtl'],
    ]);
  });
});

describe('messages built on the page', () => {
  afterEach(async () => {
    await i18n.changeLanguage('en');
  });

  it('English by default outside a browser (the unit tests assert English words)', () => {
    expect(i18n.language).toBe('en');
    expect(t('controls.start')).toBe('Start');
  });

  it('interpolates and picks plural forms through i18next', async () => {
    expect(t('settings.seconds', { count: 1 })).toBe('1 second');
    expect(t('settings.seconds', { count: 15 })).toBe('15 seconds');
    expect(t('chat.typing', { name: 'Ann & <b>' })).toBe('Ann & <b> is typing…'); // React escapes, i18next must not
    // a hostile name is text: never a nested key or a placeholder
    expect(t('chat.typing', { name: '$t(controls.start) {{name}}' })).toBe('$t(controls.start) {{name}} is typing…');
    await i18n.changeLanguage('ar');
    expect(t('settings.seconds', { count: 2 })).toBe('ثانيتين');
    expect(t('settings.seconds', { count: 3 })).toBe('3 ثوانٍ');
    expect(t('settings.seconds', { count: 15 })).toBe('15 ثانية');
    await i18n.changeLanguage('es');
    expect(t('settings.seconds', { count: 1 })).toBe('1 segundo');
    expect(t('settings.seconds', { count: 30 })).toBe('30 segundos');
  });

  it('errors and times from the lib modules follow the language', async () => {
    await i18n.changeLanguage('es');
    expect(validateReport('', '')).toEqual({ ok: false, error: 'Elige un motivo.' });
    expect(addInterests(Array.from({ length: 10 }, (_, i) => `t${i}`), 'one more').error).toBe('Como máximo 10 intereses.');
    expect(formatTimeLeft(65_000)).toBe('1 min 05 s');
    await i18n.changeLanguage('ar');
    expect(formatTimeLeft(65_000)).toBe('1 دقيقة 05 ثانية');
  });
});
