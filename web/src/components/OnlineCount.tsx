import { useOnline } from '../hooks/useOnline';
import { language, useT } from '../i18n';
import type { Online } from '../lib/online';

/** "Online now: 40+ · looking for someone: 10+", from the server's rounded-down figures. */
export function OnlineFigures({ value }: { value: Online | null }) {
  const t = useT();
  const number = new Intl.NumberFormat(language());
  const figure = (n: number) => (n > 0 ? `${number.format(n)}+` : t('online.fewer', { n: number.format(10) }));
  // A polite status that is always there (a region added with its text is often not
  // read); it is read when its text changes, which the rounding keeps to real changes.
  return (
    <p className="online-count" data-testid="online-count" role="status">
      {value ? t('online.summary', { online: figure(value.online), searching: figure(value.searching) }) : null}
    </p>
  );
}

/** The figures on the screen between calls, refreshed while it is shown (useOnline). */
export function OnlineCount() {
  return <OnlineFigures value={useOnline()} />;
}
