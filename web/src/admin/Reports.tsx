import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, query } from './api';
import { moved, triageKey, when } from './format';
import { ReportPicture } from './Evidence';
import { BanForm, WarnForm } from './forms';
import { EarlierNames, NameAndId } from './names';
import { REASONS, STATUSES, type History, type Me, type QueuedReport, type StatusFilter } from './types';
import { UNDO_MS, UndoWindow, type Undoable } from './undo';
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
  const [offered, setOffered] = useState<Undoable | null>(null);
  const undoWindow = useRef<UndoWindow | null>(null);

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

  // One undo window for the view; leaving the view sends a dismissal still waiting.
  if (undoWindow.current === null) {
    undoWindow.current = new UndoWindow(setOffered, (err) =>
      setError(err instanceof ApiError ? err.message : String(err)),
    );
  }
  const undo = undoWindow.current;
  useEffect(() => () => void undo.flush(), [undo]);

  // A dismissal waiting to be sent is out of the queue already: the next report is up.
  const waiting = offered?.kind === 'delayed' ? offered.reportId : null;
  const shown = waiting === null ? reports : reports.filter((r) => r.id !== waiting);
  const index = shown.findIndex((r) => r.id === selectedId);
  const selected = index >= 0 ? shown[index] : undefined;

  const act = useCallback(
    async (report: QueuedReport, action: string, body: unknown, done: string) => {
      setError('');
      const path = `/api/console/reports/${report.id}`;
      // The next report takes the place of the one just handled.
      const at = shown.findIndex((r) => r.id === report.id);
      const next = shown[at + 1] ?? shown[at - 1];
      if (action === 'dismiss') {
        // Delayed, not sent: see undo.ts.
        setMessage(`Report #${report.id} will be dismissed in ${UNDO_MS / 1000} s`);
        setForm({ kind: 'none' });
        setSelectedId(next?.id ?? null);
        await undo.offer({
          kind: 'delayed',
          reportId: report.id,
          label: done,
          commit: async () => {
            await api.post(`${path}/dismiss`, body);
            setMessage(done);
            await load();
          },
        });
        return;
      }
      try {
        await api.post(`${path}/${action}`, body);
        setMessage(done);
        setForm({ kind: 'none' });
        setSelectedId(next?.id ?? null);
        if (action === 'ban' || action === 'ban-address') {
          await undo.offer({
            kind: 'done',
            reportId: report.id,
            label: done,
            revert: async () => {
              await api.post(`${path}/undo`);
              setMessage(`Ban undone: report #${report.id} is open again`);
              setSelectedId(report.id);
              await load();
            },
          });
        }
        await load();
      } catch (err) {
        setError(err instanceof ApiError ? err.message : String(err));
      }
    },
    [load, shown, undo],
  );

  const undoNow = useCallback(async () => {
    const undone = await undo.undo();
    if (undone?.kind === 'delayed') {
      setMessage(`Kept report #${undone.reportId} open`);
      setSelectedId(undone.reportId);
    }
  }, [undo]);

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
        select(shown[moved(index, key === 'next' ? 1 : -1, shown.length)]?.id);
      } else if (key === 'undo') {
        void undoNow();
      } else if (selected && selected.status === 'open') {
        if (key === 'dismiss') void act(selected, 'dismiss', {}, `Dismissed report #${selected.id}`);
        else setForm({ kind: 'ban', address: true });
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, index, shown, select, selected, undoNow]);

  return (
    <section aria-labelledby="reports-title" className="reports">
      <div className="section-head">
        <h1 id="reports-title">Reports</h1>
        <p className="muted keys">
          Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous, <kbd>d</kbd> dismiss, <kbd>b</kbd> ban,{' '}
          <kbd>u</kbd> undo
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
        {shown.length === 0 ? (
          <p className="muted" data-testid="queue-empty">
            No reports here.
          </p>
        ) : (
          <ol className="queue" aria-label="Report queue">
            {shown.map((r) => (
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
                  <span className="row-user">
                    <NameAndId name={r.reportedName} id={r.reported} testId="row-name" />
                  </span>
                  <EarlierNames current={r.reportedName} names={r.reportedNames} />
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
      {offered && (
        <div className="toast" data-testid="undo-toast">
          <span>{offered.label}</span>
          <button type="button" className="btn small" data-testid="undo" onClick={() => void undoNow()}>
            Undo <kbd>u</kbd>
          </button>
        </div>
      )}
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
        <dd>
          <NameAndId name={report.reportedName} testId="detail-reported-name" />
          <EarlierNames current={report.reportedName} names={report.reportedNames} testId="detail-earlier-names" />
          <span className="uid" data-testid="detail-reported">
            {report.reported}
          </span>
        </dd>
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
      {report.picture && open ? <ReportPicture key={report.id} reportId={report.id} /> : null}
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
