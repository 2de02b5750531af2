import { useT } from '../i18n';
import './lastcall.css';

/**
 * Between calls: the partner of the call that just ended, with Report and Block,
 * on phone and desktop alike (a phone hides the chat sheet and its buttons out of
 * a call, exactly when someone who flashed and skipped needs reporting). Shown by
 * the room until LAST_CALL_MS after the call ended or the next match.
 */
export function LastCall({ name, onReport, onBlock }: { name: string; onReport: () => void; onBlock: () => void }) {
  const t = useT();
  return (
    <section className="last-call" data-testid="last-call" aria-labelledby="last-call-title">
      <div className="last-call-text">
        <h2 id="last-call-title" className="last-call-title">
          {t('lastCall.title')}
        </h2>
        <p className="last-call-who">
          {t('lastCall.with')} <bdi data-testid="last-call-name">{name}</bdi>
        </p>
      </div>
      <div className="last-call-actions">
        <button type="button" className="btn small" data-testid="last-call-report" onClick={onReport} aria-label={t('lastCall.reportLabel', { name })}>
          {t('chat.report')}
        </button>
        <button type="button" className="btn small danger" data-testid="last-call-block" onClick={onBlock} aria-label={t('chat.blockLabel', { name })}>
          {t('chat.block')}
        </button>
      </div>
    </section>
  );
}
