// The operator's rules and the age gate (GET /api/rules). The page shows them
// before the first search; the version the user accepted goes with
// POST /api/session (rulesVersion) and is remembered here per version, so a
// changed text is shown (and accepted) again.

import { t } from '../i18n';

export interface Rules {
  /** 12 hex chars: the server's hash of the text */
  version: string;
  text: string;
  minimumAge: number;
  /** false: the operator turned nicknames off (everyone is "Stranger") */
  nicknames: boolean;
}

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const STORAGE_KEY = 'rulesAccepted';
/** What the page shows at most of the rules text: a bigger answer is cut, not trusted to fit. */
export const MAX_RULES_CHARS = 20_000;

/** The answer of GET /api/rules checked, or null when it is not one. */
export function parseRules(data: unknown): Rules | null {
  const d = data as { version?: unknown; text?: unknown; minimumAge?: unknown; nicknames?: unknown } | null;
  if (!d || typeof d !== 'object') return null;
  if (typeof d.version !== 'string' || !/^[0-9a-f]{1,64}$/.test(d.version)) return null;
  if (typeof d.text !== 'string') return null;
  const age = Number(d.minimumAge);
  return {
    version: d.version,
    text: d.text.slice(0, MAX_RULES_CHARS),
    minimumAge: Number.isInteger(age) && age > 0 && age < 100 ? age : 18,
    nicknames: d.nicknames !== false,
  };
}

export async function fetchRules(fetchFn: typeof fetch = fetch): Promise<Rules> {
  let res: Response;
  try {
    res = await fetchFn('/api/rules', { headers: { Accept: 'application/json' } });
  } catch {
    throw new Error(t('rules.unreachable'));
  }
  if (!res.ok) throw new Error(t('rules.httpError', { status: res.status }));
  let rules: Rules | null = null;
  try {
    rules = parseRules(await res.json());
  } catch {
    rules = null;
  }
  if (!rules) throw new Error(t('rules.unreadable'));
  return rules;
}

/** The rules text as paragraphs (blank lines separate them). */
export function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

export interface Paragraph {
  heading: boolean;
  /** runs of text, `strong` for **bold** */
  runs: Array<{ text: string; strong: boolean }>;
}

/**
 * The little markdown the default rules use, as data the page renders with
 * React elements (never as HTML): `# heading` paragraphs and `**bold**` runs;
 * every other mark is shown as typed.
 */
export function readParagraph(p: string): Paragraph {
  const heading = /^#{1,6}\s/.test(p);
  const body = heading ? p.replace(/^#{1,6}\s+/, '') : p;
  const runs = body.split(/\*\*(.+?)\*\*/s).map((text, i) => ({ text, strong: i % 2 === 1 }));
  return { heading, runs: runs.filter((r) => r.text) };
}

/** Whether this version of the rules was accepted on this device before. */
export function wasAccepted(storage: StorageLike, version: string): boolean {
  try {
    return storage.getItem(STORAGE_KEY) === version;
  } catch {
    return false;
  }
}

export function rememberAccepted(storage: StorageLike, version: string): void {
  try {
    storage.setItem(STORAGE_KEY, version);
  } catch {
    /* private mode or full: the user accepts again next time */
  }
}
