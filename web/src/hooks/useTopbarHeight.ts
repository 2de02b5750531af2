import { useEffect, type RefObject } from 'react';

/**
 * The top bar's height as `--topbar-h` on <html>: on a phone the bar floats over
 * the full-screen video, and the partner's name and the own picture sit just
 * below it; the bar grows when the status wraps or the text is large, so CSS
 * cannot know its height. Set through the CSSOM (the page's CSP allows that).
 */
export function useTopbarHeight(ref: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const bar = ref.current;
    if (!bar || typeof ResizeObserver === 'undefined') return;
    const root = document.documentElement;
    const put = () => root.style.setProperty('--topbar-h', `${Math.ceil(bar.getBoundingClientRect().height)}px`);
    const watch = new ResizeObserver(put);
    watch.observe(bar);
    put();
    return () => {
      watch.disconnect();
      root.style.removeProperty('--topbar-h');
    };
  }, [ref]);
}
