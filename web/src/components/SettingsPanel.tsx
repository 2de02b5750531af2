import { useState } from 'react';
import { CONNECT_TIMEOUT_CHOICES, loadConnectTimeout, saveConnectTimeout } from '../lib/connectSettings';
import { loadNotify, saveNotify, type NotifyChoices } from '../lib/notifications';

const NOTIFY_LABELS: Record<keyof NotifyChoices, string> = {
  sound: 'Sound when someone is found (tab in the background)',
  title: 'Show it in the tab title',
  vibrate: 'Vibrate (phones)',
};

/** Notifications on a match and the connect timeout; each choice is kept in localStorage. */
export function SettingsPanel({ storage = window.localStorage }: { storage?: Storage }) {
  const [notify, setNotify] = useState<NotifyChoices>(() => loadNotify(storage));
  const [timeout, setTimeoutS] = useState<number>(() => loadConnectTimeout(storage));
  return (
    <details className="settings" data-testid="settings">
      <summary>Settings</summary>
      <fieldset>
        <legend>When someone is found</legend>
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
            {NOTIFY_LABELS[key]}
          </label>
        ))}
      </fieldset>
      <label>
        <span>Give up connecting after</span>
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
              {s} seconds
            </option>
          ))}
        </select>
      </label>
    </details>
  );
}
