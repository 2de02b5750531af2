import { useEffect, useRef, useState } from 'react';
import { formatTimeLeft } from '../lib/moderation';
import type { BanInfo } from '../lib/protocol';

/** Shown instead of the room while the server bans this user. */
export function BannedScreen({ ban, onRetry }: { ban: BanInfo; onRetry: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  const heading = useRef<HTMLHeadingElement | null>(null);
  // focus the heading so that screen readers read the screen once (the clock
  // below updates every second and is deliberately not a live region)
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const known = Number.isFinite(ban.until);
  const left = known ? ban.until - now : Number.NaN;
  const over = known && left <= 0;
  return (
    <main className="join-page">
      <section className="card banned" data-testid="banned" aria-labelledby="banned-title">
        <h1 id="banned-title" ref={heading} tabIndex={-1}>{over ? 'Your ban has ended' : 'You are banned'}</h1>
        <p>
          Reason: <strong data-testid="banned-reason">{ban.reason}</strong>
        </p>
        {known ? (
          <p>
            {over ? 'You can chat again.' : 'Time left: '}
            {over ? null : (
              <strong data-testid="banned-time-left">
                {formatTimeLeft(left)}
              </strong>
            )}
            <span className="muted-inline"> (until {new Date(ban.until).toLocaleString()})</span>
          </p>
        ) : (
          <p>The server did not say until when.</p>
        )}
        <button type="button" className="btn primary" data-testid="banned-retry" disabled={known && !over} onClick={onRetry}>
          {over ? 'Reconnect' : 'Reconnect when the ban is over'}
        </button>
      </section>
    </main>
  );
}
