import { useEffect, useRef, useState } from 'react';
import { BAN_CHECK_MS, formatTimeLeft } from '../lib/moderation';
import type { BanInfo } from '../lib/protocol';
import { language, useT } from '../i18n';

/**
 * Shown instead of the room while the server bans this user. With `stillBanned`
 * (a session's page), it asks every few seconds and reconnects as soon as a
 * moderator lifts the ban, without waiting for its end or a click.
 */
export function BannedScreen({
  ban,
  onRetry,
  stillBanned,
}: {
  ban: BanInfo;
  onRetry: () => void;
  stillBanned?: () => Promise<boolean | null>;
}) {
  const t = useT();
  const [now, setNow] = useState(() => Date.now());
  const heading = useRef<HTMLHeadingElement | null>(null);
  // focus the heading so that screen readers read the screen once (the clock
  // below updates every second and is deliberately not a live region)
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  useEffect(() => {
    if (!stillBanned) return undefined;
    let live = true;
    const timer = window.setInterval(() => {
      void stillBanned().then((banned) => {
        if (live && banned === false) onRetry();
      });
    }, BAN_CHECK_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [stillBanned, onRetry]);
  const known = Number.isFinite(ban.until);
  const left = known ? ban.until - now : Number.NaN;
  const over = known && left <= 0;
  return (
    <main className="join-page">
      <section className="card banned" data-testid="banned" aria-labelledby="banned-title">
        <h1 id="banned-title" ref={heading} tabIndex={-1}>{over ? t('ban.ended') : t('ban.banned')}</h1>
        <p>
          {t('ban.reason')} <strong data-testid="banned-reason">{ban.reason}</strong>
        </p>
        {known ? (
          <p>
            {over ? t('ban.canChat') : `${t('ban.timeLeft')} `}
            {over ? null : (
              <strong data-testid="banned-time-left">
                {formatTimeLeft(left)}
              </strong>
            )}
            <span className="muted-inline"> {t('ban.until', { date: new Date(ban.until).toLocaleString(language()) })}</span>
          </p>
        ) : (
          <p>{t('ban.unknownEnd')}</p>
        )}
        <button type="button" className="btn primary" data-testid="banned-retry" disabled={known && !over} onClick={onRetry}>
          {over ? t('ban.reconnect') : t('ban.reconnectLater')}
        </button>
      </section>
    </main>
  );
}
