import { useEffect, useState } from 'react';
import { ApiError, api } from './api';
import { rate, share, when } from './format';
import type { NowFigures } from './types';

const POLL_MS = 3000;

export function Now() {
  const [figures, setFigures] = useState<NowFigures | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    let live = true;
    async function poll() {
      try {
        const found = await api.get<NowFigures>('/api/console/now');
        if (live) {
          setFigures(found);
          setError('');
        }
      } catch (err) {
        if (live) setError(err instanceof ApiError ? err.message : String(err));
      }
    }
    void poll();
    const timer = window.setInterval(() => void poll(), POLL_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, []);

  const cells: [string, string, string][] = figures
    ? [
        ['online', 'Users online', String(figures.online)],
        ['waiting', 'Waiting for a partner', String(figures.waiting)],
        ['in-calls', 'In calls', String(figures.inCalls)],
        ['calls-per-minute', 'Calls per minute', rate(figures.callsPerMinute)],
        ['reports-per-hour', 'Reports in the last hour', String(figures.reportsPerHour)],
        ['relay-share', 'Calls relayed through TURN', share(figures.relayShare)],
        ['failed-calls', 'Failed calls', `${figures.failedCalls} (${share(figures.failedShare)})`],
      ]
    : [];
  return (
    <section aria-labelledby="now-title">
      <h1 id="now-title">Now</h1>
      <p className="muted small">
        Refreshed every {POLL_MS / 1000} s{figures ? `; last at ${when(figures.at)}` : ''}. Calls and
        their outcomes count since this server process started.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <dl className="figures">
        {cells.map(([id, label, value]) => (
          <div key={id} className="figure">
            <dt>{label}</dt>
            <dd data-testid={`now-${id}`}>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
