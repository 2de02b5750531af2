import { useEffect, useRef, useState, type FormEvent } from 'react';
import { REPORT_REASON_LABELS, validateReport } from '../lib/moderation';
import { MAX_REPORT_NOTE, REPORT_REASONS, type ReportReason } from '../lib/protocol';

/** A modal dialog: reason (required) and an optional note. */
export function ReportDialog({
  target,
  onSubmit,
  onClose,
}: {
  target: string;
  onSubmit: (reason: ReportReason, note: string) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement | null>(null);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = validateReport(reason, note);
    if (!checked.ok) return setError(checked.error);
    onSubmit(checked.reason, checked.note);
  };

  return (
    <dialog
      ref={ref}
      className="dialog card"
      data-testid="report-dialog"
      aria-labelledby="report-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <form onSubmit={submit} className="dialog-form">
        <h2 id="report-title">Report {target}</h2>
        <p className="muted">The call ends, and moderators see your report with the last chat lines.</p>
        <label htmlFor="report-reason">Reason</label>
        <select id="report-reason" data-testid="report-reason" value={reason} required onChange={(e) => setReason(e.target.value)}>
          <option value="" disabled>
            Choose a reason…
          </option>
          {REPORT_REASONS.map((r) => (
            <option key={r} value={r}>
              {REPORT_REASON_LABELS[r]}
            </option>
          ))}
        </select>
        <label htmlFor="report-note">
          Note <span className="hint">(optional)</span>
        </label>
        <textarea id="report-note" data-testid="report-note" value={note} maxLength={MAX_REPORT_NOTE} rows={3} onChange={(e) => setNote(e.target.value)} />
        {error ? (
          <p className="field-help field-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="dialog-buttons">
          <button type="button" className="btn" data-testid="report-cancel" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn danger" data-testid="report-submit">
            Send report
          </button>
        </div>
      </form>
    </dialog>
  );
}
