import { CONNECT_TIMEOUT_CHOICES } from '../lib/connectSettings';
import type { Choices } from '../lib/choices';
import type { NotifyChoices } from '../lib/notifications';
import { useT, type MessageKey } from '../i18n';

const NOTIFY_LABELS: Record<keyof NotifyChoices, MessageKey> = {
  sound: 'settings.sound',
  title: 'settings.titleChange',
  vibrate: 'settings.vibrate',
};

/**
 * Notifications on a match and the connect timeout (connectSettings.ts), both
 * kept with the user's choices (choices.ts) and changed through `change`.
 * `open`: unfolded at first (inside the phone's sheet, which is already one
 * tap away).
 */
export function SettingsPanel({
  choices,
  change,
  open = false,
}: {
  choices: Choices;
  change: (patch: Partial<Choices>) => void;
  open?: boolean;
}) {
  const t = useT();
  const notify = choices.notify;
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
              onChange={(e) => change({ notify: { ...notify, [key]: e.target.checked } })}
            />
            {t(NOTIFY_LABELS[key])}
          </label>
        ))}
      </fieldset>
      <label>
        <span>{t('settings.giveUp')}</span>
        <select
          data-testid="connect-timeout"
          value={choices.connectTimeout}
          onChange={(e) => change({ connectTimeout: Number(e.target.value) })}
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
