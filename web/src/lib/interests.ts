// Interest tags, normalised the way the server does (src/randomchat/protocol/
// parse.py): trimmed, lower-case, 1–30 printable characters, at most 10.

import { t } from '../i18n';

export const MAX_INTERESTS = 10;
export const MAX_INTEREST_LENGTH = 30;

// Control, format, unassigned, private-use and surrogate characters, and the
// line/paragraph separators: what Python's str.isprintable() refuses (besides
// spaces other than ' ', which trimming handles at the ends).
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}\p{Zl}\p{Zp}]|[^\S ]/u;

export type InterestCheck = { ok: true; tag: string } | { ok: false; error: string };

/** Normalise one tag, or say why it is refused. */
export function normaliseInterest(raw: string): InterestCheck {
  const tag = raw.trim().toLowerCase();
  if (!tag) return { ok: false, error: t('interests.empty') };
  // length in code points, like Python's len()
  if ([...tag].length > MAX_INTEREST_LENGTH) {
    return { ok: false, error: t('interests.tooLong', { tag, max: MAX_INTEREST_LENGTH }) };
  }
  if (UNPRINTABLE.test(tag)) return { ok: false, error: t('interests.unprintable', { tag }) };
  return { ok: true, tag };
}

export interface AddResult {
  interests: string[];
  /** why some of the input was not added (null when all of it was) */
  error: string | null;
}

/**
 * Add the tags in `input` (separated by commas) to `current`: duplicates are
 * skipped, at most MAX_INTERESTS are kept, and the first problem is reported.
 */
export function addInterests(current: readonly string[], input: string): AddResult {
  const interests = [...current];
  let error: string | null = null;
  for (const part of input.split(',')) {
    if (!part.trim()) continue;
    const checked = normaliseInterest(part);
    if (!checked.ok) {
      error ??= checked.error;
      continue;
    }
    if (interests.includes(checked.tag)) continue;
    if (interests.length >= MAX_INTERESTS) {
      error ??= t('interests.atMost', { count: MAX_INTERESTS });
      continue;
    }
    interests.push(checked.tag);
  }
  return { interests, error };
}
