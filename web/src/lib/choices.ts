// The user's remembered choices: one value, one load/save, one owner (the
// ChoicesStore behind usePersistentChoices; livekit's usePersistentUserChoices
// is the model). What the settings show, what a search sends and what the next
// visit finds are the same object.
//
// Adding a choice: a field in `Choices`, its default in `defaultChoices`, its
// reader in `READ`, and (when the server is told) a line in `searchOptions`.
// Nothing else changes: an old saved value without the field reads its default.

import { connectTimeoutChoice, DEFAULT_CONNECT_TIMEOUT_S } from './connectSettings';
import { addInterests } from './interests';
import type { NotifyChoices } from './notifications';
import { MAX_LANGUAGES, type Mode, type SearchOptions } from './protocol';

export interface Choices {
  /** video chat or text chat; users are paired only within a mode (mode.ts) */
  mode: Mode;
  /** normalised tags sent with find-partner / next (interests.ts) */
  interests: string[];
  /** only people who share an interest (never widen to anyone) */
  strict: boolean;
  /** spoken languages, ISO 639 codes ("en"): a partner who speaks one is preferred */
  languages: string[];
  /** only people who speak one of them (never widen to anyone) */
  languagesOnly: boolean;
  /** "Hide my IP": relay-only calls, sent as `privacy: true` (privacyMode.ts) */
  privacy: boolean;
  /** search again when a partner leaves or the call fails */
  autoSearch: boolean;
  /** the partner's video starts blurred (safeview.ts) */
  safeView: boolean;
  /** a clean first verdict lifts safe view's blur by itself */
  autoLift: boolean;
  /** how a hidden tab is told of a match (notifications.ts) */
  notify: NotifyChoices;
  /** seconds a new call may take to carry media before it is given up (connectSettings.ts) */
  connectTimeout: number;
}

/** A new visitor's choices: video, the page's language, nobody filtered out, every safety aid on. */
export function defaultChoices(language = 'en'): Choices {
  return {
    mode: 'video',
    interests: [],
    strict: false,
    languages: [language],
    languagesOnly: false,
    privacy: false,
    autoSearch: true,
    safeView: true,
    autoLift: true,
    notify: { sound: true, title: true, vibrate: true },
    connectTimeout: DEFAULT_CONNECT_TIMEOUT_S,
  };
}

/** The payload of find-partner / next, or undefined for a plain video search (what seed clients send). */
export function searchOptions(c: Pick<Choices, 'mode' | 'interests' | 'strict' | 'privacy' | 'languages' | 'languagesOnly'>): SearchOptions | undefined {
  const options: SearchOptions = {};
  if (c.interests.length) Object.assign(options, { interests: [...c.interests], strict: c.strict });
  if (c.languages.length) Object.assign(options, { languages: [...c.languages], languagesOnly: c.languagesOnly });
  if (c.privacy) options.privacy = true;
  // video is what the server assumes when `mode` is absent
  if (c.mode === 'text') options.mode = 'text';
  return Object.keys(options).length ? options : undefined;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Versioned: a change of shape that old readers cannot take gets a new key and a migration from this one. */
export const CHOICES_KEY = 'choices.v1';

// Storage is the user's to edit, and another version of the page may have
// written it: every field is read on its own, and a bad one falls back to its
// default without taking the others with it.
type Reader<T> = (raw: unknown) => T | undefined;
const bool: Reader<boolean> = (v) => (typeof v === 'boolean' ? v : undefined);
const READ: { [K in keyof Choices]: Reader<Choices[K]> } = {
  mode: (v) => (v === 'video' || v === 'text' ? v : undefined),
  interests: (v) => {
    if (!Array.isArray(v)) return undefined;
    // the page's own rules (at most 10, each 1–30 printable characters); a comma would split a tag
    const tags = v.filter((x): x is string => typeof x === 'string').map((x) => x.replace(/,/g, ' '));
    return addInterests([], tags.join(',')).interests;
  },
  strict: bool,
  languages: (v) => {
    if (!Array.isArray(v)) return undefined;
    const codes = v.filter((x): x is string => typeof x === 'string' && /^[a-z]{2,3}$/.test(x));
    return [...new Set(codes)].slice(0, MAX_LANGUAGES);
  },
  languagesOnly: bool,
  privacy: bool,
  autoSearch: bool,
  safeView: bool,
  autoLift: bool,
  notify: (v) => {
    if (!v || typeof v !== 'object') return undefined;
    const raw = v as Partial<Record<keyof NotifyChoices, unknown>>;
    const base = defaultChoices().notify;
    return { sound: bool(raw.sound) ?? base.sound, title: bool(raw.title) ?? base.title, vibrate: bool(raw.vibrate) ?? base.vibrate };
  },
  connectTimeout: connectTimeoutChoice,
};

/** The fields of a JSON object; anything else has none. */
function fieldsOf(raw: unknown): Record<string, unknown> {
  return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

/** Choices from an untrusted object: known fields that read well, defaults for the rest. */
export function readChoices(raw: unknown, language?: string): Choices {
  const choices = defaultChoices(language);
  const fields = fieldsOf(raw);
  for (const key of Object.keys(READ) as (keyof Choices)[]) {
    const value = READ[key](fields[key]);
    if (value !== undefined) (choices as unknown as Record<string, unknown>)[key] = value;
  }
  // strict without an interest means nothing; it would come back ticked on the first tag
  choices.strict &&= choices.interests.length > 0;
  choices.languagesOnly &&= choices.languages.length > 0;
  return choices;
}

// Before choices.v1 each choice had its own key and its own spelling (until 2026-12).
// The connect timeout kept its own key (seconds as a string) alongside choices.v1
// for a while, so it is also looked for when choices.v1 exists (loadChoices).
const LEGACY = {
  interests: 'interests',
  privacy: 'privacy',
  mode: 'mode',
  safeView: 'safeView',
  autoLift: 'safeViewAutoLift',
  notify: 'notify',
  connectTimeout: 'connectTimeout',
} as const;

function parse(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The old keys in the new shape (absent keys stay absent, so their defaults apply). */
function readLegacy(get: (key: string) => string | null): Record<string, unknown> {
  const onOff = (key: string) => ({ on: true, off: false })[get(key) ?? ''];
  const interests = parse(get(LEGACY.interests)) as { interests?: unknown; strict?: unknown } | undefined;
  return {
    interests: interests?.interests,
    strict: interests?.strict,
    privacy: { relay: true, all: false }[get(LEGACY.privacy) ?? ''],
    mode: get(LEGACY.mode),
    safeView: onOff(LEGACY.safeView),
    autoLift: onOff(LEGACY.autoLift),
    notify: parse(get(LEGACY.notify)),
    connectTimeout: parse(get(LEGACY.connectTimeout)),
  };
}

/**
 * The remembered choices, or the defaults. A visitor from before choices.v1
 * keeps what they chose: the old keys fill what the record lacks (all of it
 * before choices.v1; the connect timeout in a choices.v1 written before it
 * joined), are written as choices.v1 and removed (kept if the write fails, to be
 * tried again next time). Storage that is missing, refused (private mode) or
 * full gives the defaults, never an error.
 */
export function loadChoices(storage: StorageLike | null, language?: string): Choices {
  if (!storage) return defaultChoices(language);
  try {
    const get = (key: string) => storage.getItem(key);
    const saved = get(CHOICES_KEY);
    const fields = saved === null ? {} : fieldsOf(parse(saved));
    const legacyKeys = Object.values(LEGACY).filter((key) => get(key) !== null);
    if (!legacyKeys.length) return readChoices(fields, language);
    // the record's own values win: an old key written later came from an older tab
    const choices = readChoices({ ...readLegacy(get), ...fields }, language);
    if (saveChoices(storage, choices)) legacyKeys.forEach((key) => storage.removeItem(key));
    return choices;
  } catch {
    return defaultChoices(language);
  }
}

/** Remember `choices`; false when the browser would not (private mode, quota): not worth a message. */
export function saveChoices(storage: StorageLike | null, choices: Choices): boolean {
  if (!storage) return false;
  try {
    storage.setItem(CHOICES_KEY, JSON.stringify(choices));
    return true;
  } catch {
    return false;
  }
}

/**
 * The one owner of the choices on a page. The settings change it through
 * `update`, which saves at once; React reads it through usePersistentChoices;
 * the call controller reads `get()` when it searches, so a change applies from
 * the next search on and nobody keeps a copy.
 */
export class ChoicesStore {
  private current: Choices;
  private readonly listeners = new Set<() => void>();

  /** `language`: the page's, a new visitor's one spoken language */
  constructor(
    private readonly storage: StorageLike | null,
    language?: string,
  ) {
    this.current = loadChoices(storage, language);
  }

  readonly get = (): Choices => this.current;

  readonly update = (patch: Partial<Choices>): void => {
    const next = { ...this.current, ...patch };
    // an unchanged choice renders nothing and writes nothing
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    saveChoices(this.storage, next);
    for (const fn of [...this.listeners]) fn();
  };

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
}
