// The remembered choices (choices.ts): one value, one load/save, the old
// per-choice keys migrated once, and storage treated as hostile (garbage,
// refused, full).

import { describe, expect, it } from 'vitest';
import { CHOICES_KEY, ChoicesStore, defaultChoices, loadChoices, saveChoices, searchOptions, type Choices, type StorageLike } from '../src/lib/choices';
import { flush, setup } from './fakes';

/** localStorage's contract over a Map; `full` makes every write fail as a quota error does. */
function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  const storage = {
    full: false,
    items,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => {
      if (storage.full) throw new DOMException('quota', 'QuotaExceededError');
      items.set(k, v);
    },
    removeItem: (k: string) => void items.delete(k),
  };
  return storage;
}

const refused: StorageLike = {
  getItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
  setItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
  removeItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
};

const NEW_VISITOR: Choices = {
  mode: 'video',
  interests: [],
  strict: false,
  languages: ['en'],
  languagesOnly: false,
  privacy: false,
  autoSearch: true,
  safeView: true,
  autoLift: true,
  notify: { sound: true, title: true, vibrate: true },
  connectTimeout: 15,
};

/** A visitor who removed every spoken language: a search sends only what is chosen. */
const PLAIN: Choices = { ...NEW_VISITOR, languages: [] };

describe('remembered choices: load and save', () => {
  it('a new visitor, a refused storage and no storage at all get the defaults', () => {
    expect(defaultChoices()).toEqual(NEW_VISITOR);
    expect(loadChoices(memoryStorage())).toEqual(NEW_VISITOR);
    expect(loadChoices(refused)).toEqual(NEW_VISITOR);
    expect(loadChoices(null)).toEqual(NEW_VISITOR);
  });

  it('what is saved is what the next visit loads, under the versioned key', () => {
    const s = memoryStorage();
    const mine: Choices = {
      mode: 'text',
      interests: ['jazz', 'chess'],
      strict: true,
      languages: ['es', 'en'],
      languagesOnly: true,
      privacy: true,
      autoSearch: false,
      safeView: false,
      autoLift: false,
      notify: { sound: false, title: true, vibrate: false },
      connectTimeout: 60,
    };
    expect(saveChoices(s, mine)).toBe(true);
    expect([...s.items.keys()]).toEqual([CHOICES_KEY]);
    expect(loadChoices(s)).toEqual(mine);
  });

  it('a full or refused storage does not throw: the choice holds for this visit only', () => {
    const s = memoryStorage();
    s.full = true;
    expect(saveChoices(s, { ...NEW_VISITOR, mode: 'text' })).toBe(false);
    expect(saveChoices(refused, NEW_VISITOR)).toBe(false);
    expect(saveChoices(null, NEW_VISITOR)).toBe(false);
    const store = new ChoicesStore(s);
    store.update({ mode: 'text' });
    expect(store.get().mode).toBe('text');
    expect(s.items.size).toBe(0);
  });

  it.each([['{not json'], ['null'], ['[]'], ['"video"'], ['42']])('garbage under the key (%s) reads as the defaults', (text) => {
    expect(loadChoices(memoryStorage({ [CHOICES_KEY]: text }))).toEqual(NEW_VISITOR);
  });

  it('each field is read on its own: a bad one takes its default, the others stay', () => {
    const saved = {
      mode: 'audio',
      interests: ['OK', 5, 'a,b', 'x'.repeat(40), 'ok', null],
      strict: 'yes',
      privacy: true,
      autoSearch: 0,
      safeView: false,
      notify: { sound: false, title: 'no' },
      connectTimeout: 30,
      somethingNewer: [1, 2, 3],
    };
    expect(loadChoices(memoryStorage({ [CHOICES_KEY]: JSON.stringify(saved) }))).toEqual({
      ...NEW_VISITOR,
      interests: ['ok', 'a b'],
      privacy: true,
      safeView: false,
      notify: { sound: false, title: true, vibrate: true },
      connectTimeout: 30,
    });
  });

  it.each([[1], [16], [-10], ['30'], [null], [Infinity], [[30]]])('a connect timeout that is not one offered (%s) reads as 15 s', (value) => {
    const loaded = loadChoices(memoryStorage({ [CHOICES_KEY]: JSON.stringify({ connectTimeout: value, privacy: true }) }));
    expect(loaded).toEqual({ ...NEW_VISITOR, privacy: true });
  });

  it('interests are held to the page rules: at most 10, and strict only with one', () => {
    const many = Array.from({ length: 15 }, (_, i) => `tag${i}`);
    const loaded = loadChoices(memoryStorage({ [CHOICES_KEY]: JSON.stringify({ interests: many, strict: true }) }));
    expect(loaded.interests).toEqual(many.slice(0, 10));
    expect(loaded.strict).toBe(true);
    expect(loadChoices(memoryStorage({ [CHOICES_KEY]: JSON.stringify({ interests: [], strict: true }) })).strict).toBe(false);
  });
});

describe('remembered choices: the keys from before choices.v1', () => {
  const LEGACY = {
    interests: JSON.stringify({ interests: ['jazz', 'Chess'], strict: true }),
    privacy: 'relay',
    mode: 'text',
    safeView: 'off',
    safeViewAutoLift: 'off',
    notify: JSON.stringify({ sound: false, title: true, vibrate: true }),
    connectTimeout: '30',
  };

  it('a returning visitor keeps every choice; the old keys are moved once', () => {
    const s = memoryStorage({ ...LEGACY, token: 'kept' });
    const expected: Choices = {
      ...NEW_VISITOR,
      mode: 'text',
      interests: ['jazz', 'chess'],
      strict: true,
      privacy: true,
      safeView: false,
      autoLift: false,
      notify: { sound: false, title: true, vibrate: true },
      connectTimeout: 30,
    };
    expect(loadChoices(s)).toEqual(expected);
    // written in the new shape; the old keys are gone, the unrelated one stays
    expect([...s.items.keys()].sort()).toEqual([CHOICES_KEY, 'token']);
    expect(JSON.parse(s.items.get(CHOICES_KEY)!)).toEqual(expected);
    // an old key that turns up again (an older tab) does not override the new record
    s.items.set('mode', 'video');
    expect(loadChoices(s).mode).toBe('text');
  });

  it('only the old keys that exist are read; the rest take their defaults', () => {
    const s = memoryStorage({ safeViewAutoLift: 'off' });
    expect(loadChoices(s)).toEqual({ ...NEW_VISITOR, autoLift: false });
    expect([...s.items.keys()]).toEqual([CHOICES_KEY]);
    expect(loadChoices(memoryStorage({ privacy: 'all', safeView: 'on' }))).toEqual(NEW_VISITOR);
  });

  it('old garbage reads as the defaults, field by field', () => {
    const s = memoryStorage({ interests: '{not json', privacy: 'maybe', mode: 'holo', safeView: '', notify: '[1]', connectTimeout: '7' });
    expect(loadChoices(s)).toEqual(NEW_VISITOR);
    expect([...s.items.keys()]).toEqual([CHOICES_KEY]);
  });

  it('the connect timeout kept beside a choices.v1 written before it joined is moved in once', () => {
    const older = JSON.stringify({ ...NEW_VISITOR, mode: 'text', connectTimeout: undefined });
    const s = memoryStorage({ [CHOICES_KEY]: older, connectTimeout: '60' });
    expect(loadChoices(s)).toEqual({ ...NEW_VISITOR, mode: 'text', connectTimeout: 60 });
    expect([...s.items.keys()]).toEqual([CHOICES_KEY]);
    expect(JSON.parse(s.items.get(CHOICES_KEY)!)).toEqual({ ...NEW_VISITOR, mode: 'text', connectTimeout: 60 });
    // once the record has its own, an old key written again (an older tab) does not override it
    s.items.set('connectTimeout', '10');
    expect(loadChoices(s).connectTimeout).toBe(60);
  });

  it('a full storage keeps the old connect timeout key to be moved next time', () => {
    const s = memoryStorage({ [CHOICES_KEY]: JSON.stringify({ mode: 'text' }), connectTimeout: '20' });
    s.full = true;
    expect(loadChoices(s).connectTimeout).toBe(20);
    expect(s.items.get('connectTimeout')).toBe('20');
    s.full = false;
    expect(loadChoices(s)).toEqual({ ...NEW_VISITOR, mode: 'text', connectTimeout: 20 });
    expect(s.items.has('connectTimeout')).toBe(false);
  });

  it('when the new record cannot be written, the old keys stay to be moved next time', () => {
    const s = memoryStorage(LEGACY);
    s.full = true;
    expect(loadChoices(s).mode).toBe('text');
    expect(s.items.has('mode')).toBe(true);
    s.full = false;
    expect(loadChoices(s).mode).toBe('text');
    expect(s.items.has('mode')).toBe(false);
  });
});

describe('remembered choices: what a search sends', () => {
  it('a plain video search sends nothing, as seed clients do', () => {
    const plain = { ...NEW_VISITOR, languages: [] };
    expect(searchOptions(plain)).toBeUndefined();
    // strict without interests means nothing to the server
    expect(searchOptions({ ...plain, strict: true })).toBeUndefined();
  });

  it('interests with strict, privacy only when asked, mode only for text', () => {
    expect(searchOptions({ ...PLAIN, interests: ['a'], strict: true })).toEqual({ interests: ['a'], strict: true });
    expect(searchOptions({ ...PLAIN, privacy: true })).toEqual({ privacy: true });
    expect(searchOptions({ ...PLAIN, mode: 'text' })).toEqual({ mode: 'text' });
    expect(searchOptions({ ...PLAIN, interests: ['jazz'], privacy: true, mode: 'text' })).toEqual({
      interests: ['jazz'],
      strict: false,
      privacy: true,
      mode: 'text',
    });
  });
});

describe('remembered choices: one owner', () => {
  it('an update is saved at once, told to subscribers, and an unchanged one is neither', () => {
    const s = memoryStorage();
    const store = new ChoicesStore(s);
    let told = 0;
    const stop = store.subscribe(() => told++);
    store.update({ autoSearch: false, interests: ['jazz'] });
    expect(told).toBe(1);
    expect(new ChoicesStore(s).get()).toMatchObject({ autoSearch: false, interests: ['jazz'] });
    s.items.clear();
    store.update({ autoSearch: false });
    expect(told).toBe(1);
    expect(s.items.size).toBe(0);
    stop();
    store.update({ autoSearch: true });
    expect(told).toBe(1);
  });

  it('the controller sends the choices as they are at each search', async () => {
    const t = setup();
    t.controller.start();
    expect(t.socket.last('find-partner')).toBeUndefined();
    t.controller.stop();
    t.choices.update({ mode: 'text', privacy: true });
    t.controller.start();
    expect(t.socket.last('find-partner')).toEqual({ privacy: true, mode: 'text' });
    // a text match makes no peer connection: the controller read the mode from the choices
    t.socket.serverSends('match-found', { role: 'initiator', partnerName: 'Tex', iceServers: [] });
    await flush();
    expect(t.pcs).toHaveLength(0);
    expect(t.matched().mode).toBe('text');
  });
});

describe('spoken languages', () => {
  it("a new visitor speaks the page's language; a saved list is kept, cleaned and bounded", () => {
    expect(loadChoices(memoryStorage(), 'ar').languages).toEqual(['ar']);
    // saved before languages existed: the page's language, the rest as saved
    const old = memoryStorage({ [CHOICES_KEY]: JSON.stringify({ mode: 'text' }) });
    expect(loadChoices(old, 'es')).toMatchObject({ mode: 'text', languages: ['es'], languagesOnly: false });
    const messy = { languages: ['de', 'de', 'EN', 7, 'fr', 'it', 'pt', 'nl', 'pl'], languagesOnly: true };
    const loaded = loadChoices(memoryStorage({ [CHOICES_KEY]: JSON.stringify(messy) }));
    expect(loaded.languages).toEqual(['de', 'fr', 'it', 'pt', 'nl']);
    expect(loaded.languagesOnly).toBe(true);
    // "only my languages" without any means nothing
    const none = loadChoices(memoryStorage({ [CHOICES_KEY]: JSON.stringify({ languages: [], languagesOnly: true }) }));
    expect(none.languagesOnly).toBe(false);
  });

  it('a search sends the languages and whether they are required', () => {
    expect(searchOptions({ ...defaultChoices('es') })).toEqual({ languages: ['es'], languagesOnly: false });
    expect(searchOptions({ ...defaultChoices(), languages: ['en', 'fr'], languagesOnly: true })).toEqual({ languages: ['en', 'fr'], languagesOnly: true });
    expect(searchOptions({ ...defaultChoices(), languages: [] })).toBeUndefined();
  });
});
