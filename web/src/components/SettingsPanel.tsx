import { useState } from 'react';
import { CONNECT_TIMEOUT_CHOICES, loadConnectTimeout, saveConnectTimeout } from '../lib/connectSettings';
import { loadNotify, saveNotify, type NotifyChoices } from '../lib/notifications';
import { useT, type MessageKey } from '../i18n';

const NOTIFY_LABELS: Record<keyof NotifyChoices, MessageKey> = {
  sound: 'settings.sound',
  title: 'settings.titleChange',
  vibrate: 'settings.vibrate',
};

/** Notifications on a match and the connect timeout; each choice is kept in localStorage. `open`: unfolded at first (inside the phone's sheet, which is already one tap away). */
export function SettingsPanel({ storage = window.localStorage, open = false }: { storage?: Storage; open?: boolean }) {
  const t = useT();
  const [notify, setNotify] = useState<NotifyChoices>(() => loadNotify(storage));
  const [timeout, setTimeoutS] = useState<number>(() => loadConnectTimeout(storage));
  return (
    <details className="settings" data-testid="settings" open={open || undefined}>
      <summary>{t('settings.title')}</summary>
      <fieldset>
        <legend>{t('settings.whenFound')}</legend>
        {(Object.keys(NOTIFY_LABELS) as (keyof NotifyChoices)[]).map((key) => (
          <label key={key} className="check">
            <input
              type="checkbox"
              data-testid={`notify-${key}`}
              checked={notify[key]}
              onChange={(e) => {
                const next = { ...notify, [key]: e.target.checked };
                setNotify(next);
                saveNotify(storage, next);
              }}
            />
            {t(NOTIFY_LABELS[key])}
          </label>
        ))}
      </fieldset>
      <label>
        <span>{t('settings.giveUp')}</span>
        <select
          data-testid="connect-timeout"
          value={timeout}
          onChange={(e) => {
            const seconds = Number(e.target.value);
            setTimeoutS(seconds);
            saveConnectTimeout(storage, seconds);
          }}
        >
          {CONNECT_TIMEOUT_CHOICES.map((s) => (
            <option key={s} value={s}>
              {t('settings.seconds', { count: s })}
            </option>
          ))}
        </select>
      </label>
    </details>
  );
}
