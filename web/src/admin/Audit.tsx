import { useEffect, useState } from 'react';
import { ApiError, api } from './api';
import { when } from './format';
import type { AuditEntry } from './types';

function target(entry: AuditEntry): string {
  const report = entry.detail['reportId'];
  return typeof report === 'number' ? `${entry.target} (report #${report})` : entry.target;
}

export function Audit() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [error, setError] = useState('');

  useEffect(() => {
    api
      .get<{ entries: AuditEntry[] }>('/api/console/audit?limit=200')
      .then((found) => setEntries(found.entries))
      .catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)));
  }, []);

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <p className="filters">
        Export everything:{' '}
        <a className="btn small" data-testid="export-jsonl" href="/api/console/audit?format=jsonl&limit=100000" download>
          JSON lines
        </a>{' '}
        <a className="btn small" data-testid="export-csv" href="/api/console/audit?format=csv&limit=100000" download>
          CSV
        </a>
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {entries.length === 0 ? (
        <p className="muted">Nothing recorded yet.</p>
      ) : (
        <table className="table">
          <caption className="visually-hidden">Moderator actions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">About</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-testid="audit-row" data-action={e.action} data-target={e.target}>
                <td data-label="When">{when(e.at)}</td>
                <td data-label="Who">{e.actor}</td>
                <td data-label="What">{e.action}</td>
                <td data-label="About" className="mono">
                  {target(e)}
                </td>
                <td data-label="Why">
                  <bdi>{e.reason}</bdi>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
