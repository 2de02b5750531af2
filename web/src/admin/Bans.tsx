import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, api, query } from './api';
import { actorLabel, banLeft, when } from './format';
import type { BanRow } from './types';

export function Bans() {
  const [search, setSearch] = useState('');
  const [bans, setBans] = useState<BanRow[]>([]);
  const [lifting, setLifting] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');

  const load = useCallback(async (q: string) => {
    try {
      const found = await api.get<{ bans: BanRow[] }>('/api/console/bans' + query({ q }));
      setBans(found.bans);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }, []);

  useEffect(() => {
    void load('');
  }, [load]);

  async function lift(event: FormEvent, userId: string) {
    event.preventDefault();
    setError('');
    try {
      await api.post('/api/console/bans/lift', { userId, reason });
      setMessage(`Lifted the ban of ${userId}`);
      setLifting(null);
      setReason('');
      await load(search);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }

  const now = Date.now() / 1000;
  return (
    <section aria-labelledby="bans-title">
      <h1 id="bans-title">Bans</h1>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void load(search);
        }}
      >
        <label>
          Search user, reason or author{' '}
          <input data-testid="bans-search" value={search} maxLength={255} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <button type="submit" className="btn small">
          Search
        </button>
      </form>
      <p role="status" className="message" data-testid="bans-message">
        {message}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {bans.length === 0 ? (
        <p className="muted" data-testid="bans-empty">
          No active bans{search ? ' match' : ''}.
        </p>
      ) : (
        <table className="table">
          <caption className="visually-hidden">Active bans, newest first</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Reason</th>
              <th scope="col">Set by</th>
              <th scope="col">Since</th>
              <th scope="col">Left</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {bans.map((b) => (
              <tr key={b.userId} data-testid="ban-row" data-user-id={b.userId} data-automatic={b.automatic}>
                <td data-label="User" className="mono">
                  {b.userId}
                </td>
                <td data-label="Reason">
                  <bdi>{b.reason}</bdi>
                  {b.address ? ' (with address)' : ''}
                </td>
                <td data-label="Set by">{b.automatic ? <span className="tag">automatic</span> : actorLabel(b.createdBy)}</td>
                <td data-label="Since">{when(b.createdAt)}</td>
                <td data-label="Left">{banLeft(b.until, now)}</td>
                <td data-label="Action">
                  {lifting === b.userId ? (
                    <form className="inline-form" aria-label={`Lift the ban of ${b.userId}`} onSubmit={(e) => void lift(e, b.userId)}>
                      <label>
                        Why{' '}
                        <input data-testid="lift-reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
                      </label>
                      <button type="submit" className="btn small" data-testid="lift-confirm">
                        Lift
                      </button>
                      <button type="button" className="btn small" onClick={() => setLifting(null)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    <button type="button" className="btn small" data-testid="lift-button" onClick={() => setLifting(b.userId)}>
                      Lift ban
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
