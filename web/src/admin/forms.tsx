// The forms of the report detail: a ban (with the address) and a warning.
import { useEffect, useRef, useState } from 'react';
import { BAN_LENGTHS } from './format';
import type { QueuedReport } from './types';

/**
 * A ban covers the user and, for a guest, their device (their user id is their
 * browser's). For a guest report with a recorded network the address is offered
 * too, ticked: a private window would otherwise bring them back. Untick it for a
 * shared network (a school, a carrier's NAT), where it would shut out others.
 */
export function BanForm({
  report,
  addressTitle,
  onCancel,
  onBan,
}: {
  report: QueuedReport;
  /** why the address cannot be banned with this report; undefined when it can */
  addressTitle: string | undefined;
  onCancel: () => void;
  onBan: (hours: number, reason: string, label: string, address: boolean) => Promise<void>;
}) {
  const [address, setAddress] = useState(addressTitle === undefined);
  const [hours, setHours] = useState(24);
  const [reason, setReason] = useState(report.reason);
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const label = BAN_LENGTHS.find((b) => b.hours === hours)?.label ?? `${hours} h`;
  return (
    <form
      className="inline-form"
      data-testid="ban-form"
      aria-label={address ? 'Ban the user and their address' : 'Ban the user'}
      onSubmit={(e) => {
        e.preventDefault();
        void onBan(hours, reason, label, address);
      }}
    >
      <label>
        For{' '}
        <select ref={first} data-testid="ban-hours" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
          {BAN_LENGTHS.map((b) => (
            <option key={b.hours} value={b.hours}>
              {b.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason{' '}
        <input data-testid="ban-reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <label title={addressTitle}>
        <input
          type="checkbox"
          data-testid="ban-address"
          aria-describedby="ban-address-hint"
          checked={address}
          disabled={addressTitle !== undefined}
          onChange={(e) => setAddress(e.target.checked)}
        />{' '}
        Also their address
      </label>
      <p id="ban-address-hint" className="muted small" data-testid="ban-address-hint">
        Untick on a shared network (a school, a carrier's NAT): everyone on it would be shut out.
      </p>
      <button type="submit" className="btn danger" data-testid="ban-confirm">
        {address ? 'Ban user and address' : 'Ban user'}
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

export function WarnForm({ onCancel, onWarn }: { onCancel: () => void; onWarn: (reason: string) => Promise<void> }) {
  const [reason, setReason] = useState('');
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <form
      className="inline-form"
      aria-label="Record a warning"
      onSubmit={(e) => {
        e.preventDefault();
        void onWarn(reason);
      }}
    >
      <label>
        Warning{' '}
        <input ref={first} data-testid="warn-reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit" className="btn" data-testid="warn-confirm">
        Record warning
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
