import { useEffect, useRef, useState, type FormEvent } from 'react';
import { REPORT_REASON_KEYS, validateReport } from '../lib/moderation';
import { MAX_REPORT_NOTE, REPORT_REASONS, type ReportReason } from '../lib/protocol';
import { useT } from '../i18n';
import { capturePicture, remoteVideo, type ReportPicture } from './reportPicture';
import './report.css';

/**
 * Where focus goes when the dialog closes: the control that opened it, or the
 * room itself when a report was sent (it ends the call, and the Report button
 * is about to be disabled) or the opener is gone, so focus never falls to
 * <body>. The dialog is unmounted rather than closed, so the browser's own
 * restoring on close() does not happen.
 */
function restoreFocus(opener: Element | null, sent: boolean) {
  const usable = !sent && opener instanceof HTMLElement && opener.isConnected && !(opener as HTMLButtonElement).disabled;
  const target = usable ? opener : document.getElementById('room');
  target?.focus();
}

/**
 * A modal dialog: reason (required), an optional note and, during a call, the
 * partner's video as it was when Report was pressed, blurred, to attach or not
 * (ticked by default for nudity, until the user chooses).
 */
export function ReportDialog({
  target,
  ended = false,
  onSubmit,
  onClose,
}: {
  target: string;
  /** the call is already over ("Your last call"): nothing ends when the report is sent */
  ended?: boolean;
  /** `picture`: the JPEG in base64, when the user attached it */
  onSubmit: (reason: ReportReason, note: string, picture?: string) => void;
  onClose: () => void;
}) {
  const t = useT();
  const ref = useRef<HTMLDialogElement | null>(null);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const sent = useRef(false);
  // taken once, as the dialog opens: the moment Report was pressed
  const [picture] = useState<ReportPicture | null>(() => (ended ? null : capturePicture(remoteVideo())));
  // null: the user has not chosen, and the reason decides
  const [attachChoice, setAttachChoice] = useState<boolean | null>(null);
  const attach = attachChoice ?? reason === 'nudity';

  useEffect(() => {
    const opener = document.activeElement;
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    // after the parent's state change has re-rendered (the opener may just have been disabled)
    return () => void setTimeout(() => restoreFocus(opener, sent.current), 0);
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = validateReport(reason, note);
    if (!checked.ok) return setError(checked.error);
    sent.current = true;
    onSubmit(checked.reason, checked.note, picture && attach ? picture.base64 : undefined);
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
        <h2 id="report-title">{t('report.title', { name: target })}</h2>
        <p className="muted">{ended ? t('report.introEnded') : t('report.intro')}</p>
        <label htmlFor="report-reason">{t('report.reason')}</label>
        <select id="report-reason" data-testid="report-reason" value={reason} required onChange={(e) => setReason(e.target.value)}>
          <option value="" disabled>
            {t('report.choose')}
          </option>
          {REPORT_REASONS.map((r) => (
            <option key={r} value={r}>
              {t(REPORT_REASON_KEYS[r])}
            </option>
          ))}
        </select>
        <label htmlFor="report-note">
          {t('report.note')} <span className="hint">{t('report.optional')}</span>
        </label>
        <textarea id="report-note" data-testid="report-note" value={note} maxLength={MAX_REPORT_NOTE} rows={3} onChange={(e) => setNote(e.target.value)} />
        {picture ? (
          <div className="report-picture">
            <img src={picture.dataUrl} alt={t('report.pictureAlt')} data-testid="report-picture" />
            <label className="check">
              <input type="checkbox" data-testid="report-attach" checked={attach} aria-describedby="report-picture-hint" onChange={(e) => setAttachChoice(e.target.checked)} />
              {t('report.attach')}
            </label>
            <p id="report-picture-hint" className="hint">
              {t('report.attachHint')}
            </p>
          </div>
        ) : null}
        {error ? (
          <p className="field-help field-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="dialog-buttons">
          <button type="button" className="btn" data-testid="report-cancel" onClick={onClose}>
            {t('report.cancel')}
          </button>
          <button type="submit" className="btn danger" data-testid="report-submit">
            {t('report.send')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
