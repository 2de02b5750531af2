export interface ToastItem {
  id: string;
  kind: 'error' | 'rate-limit' | 'info';
  message: string;
  onDismiss?: () => void;
}

/** Error and rate-limit messages; the region carries data-testid="error". */
export function Toasts({ items, onDismiss }: { items: ToastItem[]; onDismiss?: () => void }) {
  if (items.length === 0) return null;
  return (
    <div className="toasts" data-testid="error" role="alert" aria-live="assertive">
      {items.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`}>
          <span>{t.message}</span>
          <button type="button" className="toast-close" aria-label="Dismiss message" onClick={() => (t.onDismiss ?? onDismiss)?.()}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
