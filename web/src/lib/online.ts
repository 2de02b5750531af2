// How many people are online and searching (GET /api/online, docs/protocol.md),
// for the screen between calls. The server rounds the figures down (to tens; 0
// means fewer than 10: an exact small count would tell who is here), so the page
// only adds "+" and never knows more than that.
//
// Asked every POLL_MS while the screen is shown and the tab is visible: a hidden
// tab asks nothing (nobody reads it; the server's count is cached for everyone
// anyway), and asks at once when it is shown again, so the figure is never stale
// for long in front of a user.

export interface Online {
  online: number;
  searching: number;
}

export const POLL_MS = 20_000;

const count = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null);

/** An answer of GET /api/online, or null for anything else. */
export function readOnline(data: unknown): Online | null {
  const body = data as { online?: unknown; searching?: unknown } | null;
  const online = count(body?.online);
  const searching = count(body?.searching);
  return online === null || searching === null ? null : { online, searching };
}

export async function fetchOnline(fetchFn: typeof fetch = fetch): Promise<Online | null> {
  try {
    const res = await fetchFn('/api/online', { headers: { Accept: 'application/json' } });
    return res.ok ? readOnline(await res.json()) : null;
  } catch {
    return null; // offline for a moment: keep showing the last figure
  }
}

/** What the poller needs of the document: whether it is hidden, and word of changes. */
export interface Visibility {
  hidden(): boolean;
  onChange(listener: () => void): () => void;
}

export function documentVisibility(doc: Document = document): Visibility {
  return {
    hidden: () => doc.visibilityState === 'hidden',
    onChange(listener) {
      doc.addEventListener('visibilitychange', listener);
      return () => doc.removeEventListener('visibilitychange', listener);
    },
  };
}

/**
 * Ask now (if visible) and every `every` ms while visible; call `onValue` with
 * each answer (a failed ask is skipped). Returns the stop function.
 */
export function pollOnline(
  onValue: (value: Online) => void,
  { fetchFn = fetch, visibility, every = POLL_MS }: { fetchFn?: typeof fetch; visibility: Visibility; every?: number },
): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const ask = async () => {
    cancel();
    const value = await fetchOnline(fetchFn);
    // stopped or hidden while asking: the answer is still true, the next ask waits
    if (stopped) return;
    if (value) onValue(value);
    if (!visibility.hidden() && timer === null) timer = setTimeout(() => void ask(), every);
  };
  const unlisten = visibility.onChange(() => {
    if (visibility.hidden()) cancel();
    else void ask();
  });
  if (!visibility.hidden()) void ask();
  return () => {
    stopped = true;
    cancel();
    unlisten();
  };
}
