// The figures of people online on the screen between calls (lib/online.ts,
// components/OnlineCount.tsx): what is asked when, and what is shown.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OnlineFigures } from '../src/components/OnlineCount';
import { pollOnline, readOnline, type Online, type Visibility } from '../src/lib/online';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function fakeVisibility(hidden = false) {
  const listeners = new Set<() => void>();
  const visibility: Visibility = {
    hidden: () => hidden,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const set = (next: boolean) => {
    hidden = next;
    for (const l of listeners) l();
  };
  return { visibility, set, listeners };
}

function fakeServer(answers: Online[]) {
  let i = 0;
  const fetchFn = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(JSON.stringify(answers[Math.min(i++, answers.length - 1)])));
  return fetchFn as typeof fetchFn & typeof fetch;
}

describe('reading GET /api/online', () => {
  it('takes two counts, nothing else', () => {
    expect(readOnline({ online: 40, searching: 10 })).toEqual({ online: 40, searching: 10 });
    expect(readOnline({ online: 40 })).toBeNull();
    expect(readOnline({ online: -1, searching: 0 })).toBeNull();
    expect(readOnline({ online: '40', searching: 0 })).toBeNull();
    expect(readOnline(null)).toBeNull();
  });
});

describe('polling', () => {
  it('asks at once, then every 20 s, and never while the tab is hidden', async () => {
    const fetchFn = fakeServer([
      { online: 40, searching: 10 },
      { online: 50, searching: 10 },
    ]);
    const tab = fakeVisibility();
    const seen: Online[] = [];
    const stop = pollOnline((v) => seen.push(v), { fetchFn, visibility: tab.visibility });
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    expect(fetchFn.mock.calls[0][0]).toBe('/api/online');
    expect(seen).toEqual([{ online: 40, searching: 10 }]);
    await vi.advanceTimersByTimeAsync(19_999);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchFn).toHaveBeenCalledTimes(2);
    expect(seen.at(-1)).toEqual({ online: 50, searching: 10 });

    tab.set(true); // hidden: nothing more, however long
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fetchFn).toHaveBeenCalledTimes(2);
    tab.set(false); // shown again: asks at once, then resumes
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchFn).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fetchFn).toHaveBeenCalledTimes(4);

    stop(); // in a call (the component unmounts): no more asks, no listener left
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fetchFn).toHaveBeenCalledTimes(4);
    expect(tab.listeners.size).toBe(0);
  });

  it('a tab opened hidden asks only once shown; a failed ask keeps polling', async () => {
    const fetchFn = vi.fn(async () => {
      throw new TypeError('offline');
    }) as unknown as typeof fetch;
    const tab = fakeVisibility(true);
    const seen: Online[] = [];
    const stop = pollOnline((v) => seen.push(v), { fetchFn, visibility: tab.visibility });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetchFn).not.toHaveBeenCalled();
    tab.set(false);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fetchFn).toHaveBeenCalledTimes(2);
    expect(seen).toEqual([]);
    stop();
  });
});

describe('the figures shown', () => {
  const render = (value: Online | null) => renderToStaticMarkup(createElement(OnlineFigures, { value }));

  it('shows the rounded figures as lower bounds, 0 as "fewer than 10", in a polite status', () => {
    const html = render({ online: 1200, searching: 0 });
    expect(html).toContain('role="status"');
    expect(html).toContain('data-testid="online-count"');
    expect(html).toContain('Online now: 1,200+ · looking for someone: fewer than 10');
  });

  it('keeps the empty status region before the first answer', () => {
    expect(render(null)).toBe('<p class="online-count" data-testid="online-count" role="status"></p>');
  });
});
