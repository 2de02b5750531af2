import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, query } from './api';
import { BAN_LENGTHS, moved, triageKey, when } from './format';
import { REASONS, STATUSES, type History, type Me, type QueuedReport, type StatusFilter } from './types';
import { UserHistory } from './UserHistory';
import { RowWeight, WeightFact } from './weight';

type Form = { kind: 'none' } | { kind: 'ban'; address: boolean } | { kind: 'warn' };
type Sort = 'newest' | 'heaviest';

const REFRESH_MS = 15_000;
const NO_ADDRESS_BANS = 'Address bans are not available on this server';
const NO_ADDRESS = 'No address was recorded with this report (the user was not a guest)';

export function Reports({ me }: { me: Me }) {
  const [status, setStatus] = useState<StatusFilter>('open');
  const [reason, setReason] = useState('');
  const [sort, setSort] = useState<Sort>('newest');
  const [reports, setReports] = useState<QueuedReport[]>([]);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [form, setForm] = useState<Form>({ kind: 'none' });
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const rows = useRef(new Map<number, HTMLButtonElement>());

  const load = useCallback(async () => {
    try {
      const found = await api.get<{ reports: QueuedReport[] }>(
        '/api/console/reports' + query({ status, reason, sort, limit: 200 }),
      );
      setReports(found.reports);
      setSelectedId((current) =>
        found.reports.some((r) => r.id === current) ? current : (found.reports[0]?.id ?? null),
      );
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }, [status, reason, sort]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  const index = reports.findIndex((r) => r.id === selectedId);
  const selected = index >= 0 ? reports[index] : undefined;

  const act = useCallback(
    async (report: QueuedReport, action: string, body: unknown, done: string) => {
      setError('');
      try {
        await api.post(`/api/console/reports/${report.id}/${action}`, body);
        setMessage(done);
        setForm({ kind: 'none' });
        // The next report takes the place of the one just handled.
        const at = reports.findIndex((r) => r.id === report.id);
        const next = reports[at + 1] ?? reports[at - 1];
        setSelectedId(next?.id ?? null);
        await load();
      } catch (err) {
        setError(err instanceof ApiError ? err.message : String(err));
      }
    },
    [load, reports],
  );

  const select = useCallback((id: number | undefined) => {
    if (id === undefined) return;
    setSelectedId(id);
    setForm({ kind: 'none' });
    rows.current.get(id)?.focus();
  }, []);

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      const key = triageKey(event);
      if (key === null) return;
      event.preventDefault();
      if (key === 'next' || key === 'previous') {
        select(reports[moved(index, key === 'next' ? 1 : -1, reports.length)]?.id);
      } else if (selected && selected.status === 'open') {
        if (key === 'dismiss') void act(selected, 'dismiss', {}, `Dismissed report #${selected.id}`);
        else setForm({ kind: 'ban', address: true });
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, index, reports, select, selected]);

  return (
    <section aria-labelledby="reports-title" className="reports">
      <div className="section-head">
        <h1 id="reports-title">Reports</h1>
        <p className="muted keys">
          Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous, <kbd>d</kbd> dismiss, <kbd>b</kbd> ban
        </p>
      </div>
      <div className="filters">
        <label>
          Status{' '}
          <select data-testid="filter-status" value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason{' '}
          <select data-testid="filter-reason" value={reason} onChange={(e) => setReason(e.target.value)}>
            <option value="">any</option>
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order{' '}
          <select data-testid="filter-sort" value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
            <option value="newest">newest first</option>
            <option value="heaviest">heaviest first</option>
          </select>
        </label>
        <button type="button" className="btn small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <p role="status" className="message" data-testid="console-message">
        {message}
      </p>
      {error && (
        <p role="alert" className="error" data-testid="console-error">
          {error}
        </p>
      )}
      <div className="triage">
        {reports.length === 0 ? (
          <p className="muted" data-testid="queue-empty">
            No reports here.
          </p>
        ) : (
          <ol className="queue" aria-label="Report queue">
            {reports.map((r) => (
              <li key={r.id}>
                <button
                  type="button"
                  data-testid="report-row"
                  data-report-id={r.id}
                  aria-pressed={r.id === selectedId}
                  ref={(el) => {
                    if (el) rows.current.set(r.id, el);
                    else rows.current.delete(r.id);
                  }}
                  onClick={() => select(r.id)}
                >
                  <span className="row-reason">{r.reason}</span>
                  <span className="row-user">{r.reported}</span>
                  <span className="row-meta">
                    #{r.id} · {when(r.createdAt)} · <RowWeight weight={r.weight} /> · {r.status}
                  </span>
                </button>
              </li>
            ))}
          </ol>
        )}
        {selected && (
          <ReportDetail
            key={selected.id}
            me={me}
            report={selected}
            form={form}
            setForm={setForm}
            act={act}
          />
        )}
      </div>
    </section>
  );
}

function ReportDetail({
  me,
  report,
  form,
  setForm,
  act,
}: {
  me: Me;
  report: QueuedReport;
  form: Form;
  setForm: (form: Form) => void;
  act: (report: QueuedReport, action: string, body: unknown, done: string) => Promise<void>;
}) {
  const [reported, setReported] = useState<History | null>(null);
  const [reporter, setReporter] = useState<History | null>(null);

  useEffect(() => {
    let live = true;
    const user = (id: string) => api.get<History>(`/api/console/users/${encodeURIComponent(id)}`);
    void Promise.all([user(report.reported), user(report.reporter)])
      .then(([a, b]) => {
        if (live) {
          setReported(a);
          setReporter(b);
        }
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [report.reported, report.reporter]);

  const open = report.status === 'open';
  const addressTitle = !me.addressBans ? NO_ADDRESS_BANS : !report.addressKnown ? NO_ADDRESS : undefined;
  return (
    <article className="detail" data-testid="report-detail" aria-labelledby="detail-title">
      <h2 id="detail-title">
        Report #{report.id}: {report.reason}
      </h2>
      <dl className="facts">
        <dt>Reported user</dt>
        <dd data-testid="detail-reported">{report.reported}</dd>
        <dt>Reported by</dt>
        <dd data-testid="detail-reporter">{report.reporter}</dd>
        <dt>When</dt>
        <dd>{when(report.createdAt)}</dd>
        <dt>Weight</dt>
        <WeightFact weight={report.weight} />
        <dt>Status</dt>
        <dd data-testid="detail-status">
          {report.status}
          {report.reviewedBy ? ` by ${report.reviewedBy}` : ''}
        </dd>
        <dt>Note</dt>
        <dd dir="auto">{report.note || '(none)'}</dd>
      </dl>
      <h3>Chat kept with the report</h3>
      {report.chat.length === 0 ? (
        <p className="muted">No chat lines.</p>
      ) : (
        <ol className="chat" data-testid="report-chat">
          {report.chat.map((line, i) => (
            <li key={i} data-side={line.sender === report.reported ? 'reported' : 'reporter'}>
              <span className="chat-who">{line.sender === report.reported ? 'reported' : 'reporter'}</span>{' '}
              <bdi className="chat-line">{line.text}</bdi>
            </li>
          ))}
        </ol>
      )}
      <div className="actions">
        <button
          type="button"
          className="btn"
          data-testid="action-dismiss"
          disabled={!open}
          onClick={() => void act(report, 'dismiss', {}, `Dismissed report #${report.id}`)}
        >
          Dismiss
        </button>
        <button type="button" className="btn" data-testid="action-warn" disabled={!open} onClick={() => setForm({ kind: 'warn' })}>
          Warn
        </button>
        <button
          type="button"
          className="btn danger"
          data-testid="action-ban"
          disabled={!open}
          onClick={() => setForm({ kind: 'ban', address: true })}
        >
          Ban…
        </button>
      </div>
      {addressTitle && <p className="muted small">Address ban: {addressTitle}.</p>}
      {form.kind === 'ban' && (
        <BanForm
          report={report}
          addressTitle={addressTitle}
          onCancel={() => setForm({ kind: 'none' })}
          onBan={(hours, reason, label, address) =>
            act(report, address ? 'ban-address' : 'ban', { hours, reason }, `Banned ${report.reported}${address ? ' and their address' : ''} for ${label}`)
          }
        />
      )}
      {form.kind === 'warn' && (
        <WarnForm
          onCancel={() => setForm({ kind: 'none' })}
          onWarn={(reason) => act(report, 'warn', { reason }, `Warning recorded for ${report.reported}`)}
        />
      )}
      <div className="histories">
        <UserHistory title="Reported user's history" testId="history-reported" history={reported} />
        <UserHistory title="Reporter's history" testId="history-reporter" history={reporter} />
      </div>
    </article>
  );
}

/**
 * A ban covers the user and, for a guest, their device (their user id is their
 * browser's). For a guest report with a recorded network the address is offered
 * too, ticked: a private window would otherwise bring them back. Untick it for a
 * shared network (a school, a carrier's NAT), where it would shut out others.
 */
function BanForm({
  report,
  addressTitle,
  onCancel,
  onBan,
}: {
  report: QueuedReport;
  /** why the address cannot be banned with this report; undefined when it can */
  addressTitle: string | undefined;
  onCancel: () => void;
  onBan: (hours: number, reason: string, label: string, address: boolean) => Promise<void>;
}) {
  const [address, setAddress] = useState(addressTitle === undefined);
  const [hours, setHours] = useState(24);
  const [reason, setReason] = useState(report.reason);
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const label = BAN_LENGTHS.find((b) => b.hours === hours)?.label ?? `${hours} h`;
  return (
    <form
      className="inline-form"
      data-testid="ban-form"
      aria-label={address ? 'Ban the user and their address' : 'Ban the user'}
      onSubmit={(e) => {
        e.preventDefault();
        void onBan(hours, reason, label, address);
      }}
    >
      <label>
        For{' '}
        <select ref={first} data-testid="ban-hours" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
          {BAN_LENGTHS.map((b) => (
            <option key={b.hours} value={b.hours}>
              {b.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason{' '}
        <input data-testid="ban-reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <label title={addressTitle}>
        <input
          type="checkbox"
          data-testid="ban-address"
          aria-describedby="ban-address-hint"
          checked={address}
          disabled={addressTitle !== undefined}
          onChange={(e) => setAddress(e.target.checked)}
        />{' '}
        Also their address
      </label>
      <p id="ban-address-hint" className="muted small" data-testid="ban-address-hint">
        Untick on a shared network (a school, a carrier's NAT): everyone on it would be shut out.
      </p>
      <button type="submit" className="btn danger" data-testid="ban-confirm">
        {address ? 'Ban user and address' : 'Ban user'}
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function WarnForm({ onCancel, onWarn }: { onCancel: () => void; onWarn: (reason: string) => Promise<void> }) {
  const [reason, setReason] = useState('');
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <form
      className="inline-form"
      aria-label="Record a warning"
      onSubmit={(e) => {
        e.preventDefault();
        void onWarn(reason);
      }}
    >
      <label>
        Warning{' '}
        <input ref={first} data-testid="warn-reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit" className="btn" data-testid="warn-confirm">
        Record warning
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
