
import { useT } from '../i18n';
export interface ToastItem {
  id: string;
  kind: 'error' | 'rate-limit' | 'info';
  message: string;
  onDismiss?: () => void;
}

/** Error and rate-limit messages; the region carries data-testid="error". */
export function Toasts({ items, onDismiss }: { items: ToastItem[]; onDismiss?: () => void }) {
  const t = useT();
  if (items.length === 0) return null;
  return (
    <div className="toasts" data-testid="error" role="alert" aria-live="assertive">
      {items.map((item) => (
        <div key={item.id} className={`toast toast-${item.kind}`}>
          <span>{item.message}</span>
          <button type="button" className="toast-close" aria-label={t('toast.dismiss')} onClick={() => (item.onDismiss ?? onDismiss)?.()}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
