import type { RoomState } from '../lib/callController';
import { dataPhase } from '../lib/callState';

/** Phase, server round trip quality and, in a call, the WebRTC states (data-* attributes are a test contract). */
export function StatusBar({ state }: { state: RoomState | null }) {
  const call = state?.call;
  const phase = call ? dataPhase(call) : 'idle';
  const online = state?.socketConnected ?? false;
  const label = !online ? 'offline' : call?.phase === 'searching' ? `searching${call.queuePosition ? ` · #${call.queuePosition}` : ''}` : phase;
  return (
    <div className="status-bar">
      <span className={`pill phase-${online ? phase : 'offline'}`} data-testid="status" data-phase={phase} role="status" aria-live="polite">
        {label}
      </span>
      {state?.quality ? (
        <span className={`pill quality-${state.quality}`} title={state.latencyMs !== null ? `Server round trip ${state.latencyMs} ms` : undefined} data-testid="quality">
          {state.quality}
        </span>
      ) : null}
      {call?.phase === 'matched' ? (
        <span
          className={`pill peer peer-${call.connectionState}`}
          data-testid="peer-state"
          data-connection-state={call.connectionState}
          data-ice-state={call.iceConnectionState}
          title="WebRTC connection state / ICE connection state"
        >
          <span className="dot" aria-hidden="true" />
          {call.connectionState} · ice {call.iceConnectionState}
        </span>
      ) : null}
    </div>
  );
}
