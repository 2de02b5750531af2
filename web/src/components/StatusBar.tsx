import type { RoomState } from '../lib/callController';
import { dataPhase } from '../lib/callState';
import { linkWords, peerWords, searchWords } from '../lib/connectionWords';
import { useT } from '../i18n';

/**
 * Where the page stands, in plain words: the phase (data-phase is a test
 * contract), the call's media quality, and in a call how the connection to the
 * partner is doing (the WebRTC state names stay on data-* attributes).
 * The quality badge is measured from the call's media (getStats, see
 * stats.ts judgeMedia), never from the socket, and never "excellent" while the
 * page is offline or reconnecting.
 */
export function StatusBar({ state }: { state: RoomState | null }) {
  const t = useT();
  const call = state?.call;
  const phase = call ? dataPhase(call) : 'idle';
  const link = state?.link ?? 'connecting';
  const away = linkWords(link);
  const label = away ?? (call?.phase === 'searching' ? searchWords() : call?.phase === 'matched' ? t('status.inCall', { name: call.partnerName }) : t('status.ready'));
  const inCall = call?.phase === 'matched' && call.session !== null;
  const quality = away ? (link === 'offline' ? 'offline' : 'reconnecting') : inCall ? (call.mediaQuality ?? null) : null;
  return (
    <div className="status-bar">
      <span className={`pill phase-${away ? 'offline' : phase}`} data-testid="status" data-phase={phase} data-link={link} data-queue-position={call?.phase === 'searching' ? (call.queuePosition ?? undefined) : undefined} role="status" aria-live="polite">
        {label}
      </span>
      {quality ? (
        <span
          className={`pill quality-${quality === 'offline' || quality === 'reconnecting' ? 'poor' : quality}`}
          title={inCall ? t('quality.titleCall') : t('quality.titleServer')}
          data-testid="quality"
          data-quality={quality}
        >
          {t(`quality.${quality}`)}
        </span>
      ) : null}
      {inCall ? (
        <span
          className={`pill peer peer-${call.connectionState}`}
          data-testid="peer-state"
          data-connection-state={call.connectionState}
          data-ice-state={call.iceConnectionState}
          title={t('peer.title')}
        >
          <span className="dot" aria-hidden="true" />
          {peerWords(call.connectionState, call.restarting ?? false)}
        </span>
      ) : null}
    </div>
  );
}
