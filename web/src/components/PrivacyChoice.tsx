import { useEffect, useId } from 'react';
import { usePrivacyMode } from '../hooks/usePrivacyMode';
import { privacyOffered, privacyReasonKey, privacyUnavailable } from '../lib/privacyMode';
import { useT } from '../i18n';

/**
 * "Hide my IP (relay only)": offered only where the server can make a call
 * relay-only (a TURN server, and the operator allows it). Elsewhere the box is
 * disabled and says why, so it never promises what the call would not keep.
 */
export function PrivacyChoice({ checked, onChange }: { checked: boolean; onChange(on: boolean): void }) {
  const t = useT();
  const choice = usePrivacyMode();
  const reasonId = useId();
  const offered = privacyOffered(choice);
  const reason = privacyReasonKey(choice);
  // A remembered choice this server cannot honour is dropped: a search never asks
  // for it (the server would refuse it: privacy_unavailable).
  useEffect(() => {
    if (checked && privacyUnavailable(choice)) onChange(false);
  }, [checked, choice, onChange]);
  return (
    <span className="privacy-choice" data-privacy={choice}>
      <label className="check" title={offered ? t('controls.privacyTitle') : undefined}>
        <input
          type="checkbox"
          data-testid="privacy"
          checked={choice === 'always' || (checked && !privacyUnavailable(choice))}
          disabled={!offered}
          aria-describedby={reason ? reasonId : undefined}
          onChange={(e) => onChange(e.target.checked)}
        />
        {t('controls.privacy')}
      </label>
      {reason ? (
        <small id={reasonId} className="hint privacy-reason" data-testid="privacy-reason">
          {t(reason)}
        </small>
      ) : null}
    </span>
  );
}
