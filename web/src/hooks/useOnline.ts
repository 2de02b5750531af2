import { useEffect, useState } from 'react';
import { documentVisibility, pollOnline, type Online } from '../lib/online';

/** The rounded online and searching figures (online.ts), asked while the caller is mounted. */
export function useOnline(): Online | null {
  const [value, setValue] = useState<Online | null>(null);
  useEffect(() => {
    // The same figures again keep the same object: no render, and nothing for the
    // status region to announce (it speaks only when the rounded figure moves).
    const keep = (next: Online) => setValue((prev) => (prev && prev.online === next.online && prev.searching === next.searching ? prev : next));
    return pollOnline(keep, { visibility: documentVisibility() });
  }, []);
  return value;
}
