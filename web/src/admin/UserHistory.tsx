import { actorLabel, when } from './format';
import { NO_NAME } from './names';
import type { History } from './types';

export function UserHistory({ title, testId, history }: { title: string; testId: string; history: History | null }) {
  return (
    <section className="history" data-testid={testId} aria-label={title}>
      <h3>{title}</h3>
      {history === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <p className="small" data-testid={`${testId}-names`}>
            {history.names.length === 0 ? (
              <span className="muted">({NO_NAME}: names are kept with reports about a user)</span>
            ) : (
              <>
                Names:{' '}
                {history.names.map((name, i) => (
                  <span key={name}>
                    {i > 0 ? ', ' : ''}
                    <bdi className="nick">{name}</bdi>
                  </span>
                ))}
              </>
            )}
          </p>
          <p className="small">
            <span data-testid={`${testId}-reported`}>{history.reportedCount}</span> reports about them,{' '}
            <span data-testid={`${testId}-filed`}>{history.filedCount}</span> filed by them
            {history.banned ? ', banned now' : ''}
          </p>
          {history.reports.length > 0 && (
            <ul className="compact">
              {history.reports.map((r) => (
                <li key={r.id}>
                  #{r.id} {r.reason} · {when(r.createdAt)} · {r.status}
                </li>
              ))}
            </ul>
          )}
          {history.bans.length > 0 && (
            <ul className="compact" aria-label="Bans">
              {history.bans.map((b) => (
                <li key={`${b.createdAt}-${b.createdBy}`}>
                  banned {when(b.createdAt)} by {actorLabel(b.createdBy)}: <bdi>{b.reason}</bdi>
                  {b.endedAt ? ` (ended ${when(b.endedAt)})` : ''}
                </li>
              ))}
            </ul>
          )}
          {history.warnings.length > 0 && (
            <ul className="compact" aria-label="Warnings">
              {history.warnings.map((w) => (
                <li key={w.id}>
                  warned {when(w.at)} by {w.actor}: <bdi>{w.reason}</bdi>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
