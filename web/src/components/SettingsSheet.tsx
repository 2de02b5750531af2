import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useT } from '../i18n';
import './sheet.css';

/** A gear: the button's name is its aria-label (no visible text to mismatch). */
function GearIcon() {
  return (
    <svg viewBox="0 0 24 24" width="1.4em" height="1.4em" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M19.4 13a7.6 7.6 0 0 0 0-2l2-1.6-2-3.4-2.4 1a7.4 7.4 0 0 0-1.7-1L15 3.5h-4l-.4 2.5a7.4 7.4 0 0 0-1.7 1l-2.4-1-2 3.4 2 1.6a7.6 7.6 0 0 0 0 2l-2 1.6 2 3.4 2.4-1a7.4 7.4 0 0 0 1.7 1l.4 2.5h4l.4-2.5a7.4 7.4 0 0 0 1.7-1l2.4 1 2-3.4-2-1.6zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z"
      />
    </svg>
  );
}

/** The button that opens the sheet: a gear named by `label` (also its tooltip). */
export function SheetButton({ label, onOpen }: { label: string; onOpen: () => void }) {
  return (
    <button type="button" className="btn sheet-open" data-testid="sheet-open" aria-label={label} title={label} aria-haspopup="dialog" onClick={onOpen}>
      <GearIcon />
    </button>
  );
}

/**
 * A bottom sheet for the choices a phone has no room for: a modal <dialog>, so
 * the browser keeps focus inside it and makes the room behind it inert; Escape
 * (the dialog's cancel), the Close button and a tap on the backdrop close it,
 * and focus goes back to the button that opened it. Its content stays mounted
 * while closed, so choices are the same whether or not it was ever opened.
 */
export function SettingsSheet({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const t = useT();
  const ref = useRef<HTMLDialogElement | null>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open]);

  const closed = () => {
    onClose();
    const back = opener.current;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
  };

  return (
    <dialog
      ref={ref}
      className="sheet"
      data-testid="settings-sheet"
      aria-labelledby={titleId}
      onClose={closed}
      // a tap on the backdrop lands on the <dialog> itself, never on its content
      onClick={(e) => {
        if (e.target === e.currentTarget) ref.current?.close();
      }}
    >
      <div className="sheet-body">
        <div className="sheet-head">
          <h2 id={titleId} className="sheet-title">
            {title}
          </h2>
          <button type="button" className="btn small" data-testid="sheet-close" onClick={() => ref.current?.close()}>
            {t('sheet.close')}
          </button>
        </div>
        {children}
      </div>
    </dialog>
  );
}
