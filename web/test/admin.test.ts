import { describe, expect, it } from 'vitest';
import { banLeft, moved, rate, share, triageKey } from '../src/admin/format';
import { query } from '../src/admin/api';

const key = (k: string, extra: Partial<{ ctrlKey: boolean; target: unknown }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  target: { tagName: 'BODY' },
  ...extra,
});

describe('console triage keys', () => {
  it('maps j, k, d and b', () => {
    expect(['j', 'k', 'd', 'b', 'x'].map((k) => triageKey(key(k)))).toEqual([
      'next',
      'previous',
      'dismiss',
      'ban',
      null,
    ]);
  });
  it('does nothing while typing or with a modifier', () => {
    for (const tagName of ['INPUT', 'TEXTAREA', 'SELECT']) {
      expect(triageKey(key('d', { target: { tagName } }))).toBeNull();
    }
    expect(triageKey(key('d', { target: { tagName: 'DIV', isContentEditable: true } }))).toBeNull();
    expect(triageKey(key('b', { ctrlKey: true }))).toBeNull();
  });
  it('moves within the list', () => {
    expect(moved(-1, 1, 3)).toBe(0);
    expect(moved(2, 1, 3)).toBe(2);
    expect(moved(0, -1, 3)).toBe(0);
    expect(moved(0, 1, 0)).toBe(-1);
  });
});

describe('console formatting', () => {
  it('shows shares, rates and time left', () => {
    expect(share(null)).toBe('—');
    expect(share(0.25)).toBe('25.0 %');
    expect(rate(null)).toBe('measuring…');
    expect(banLeft(1000 + 90_000, 1000)).toBe('1 d 1 h');
    expect(banLeft(1000 + 3_720, 1000)).toBe('1 h 2 min');
    expect(banLeft(1000, 2000)).toBe('0 min');
    expect(banLeft(1000 + 10 * 365 * 86400, 1000)).toBe('years');
  });
  it('builds query strings without empty values', () => {
    expect(query({ status: 'open', reason: '', limit: 5, q: undefined })).toBe('?status=open&limit=5');
    expect(query({ q: 'a b&c' })).toBe('?q=a+b%26c');
    expect(query({})).toBe('');
  });
});
