import { useRef, type PointerEvent } from 'react';
import { CommonGround } from './CommonGround';
import type { CameraState } from '../lib/camera';
import type { CallState } from '../lib/callState';
import { isBotName } from '../lib/protocol';
import type { MediaState } from '../lib/mediaState';
import { ipHidden } from '../lib/stats';
import { LocalVideo } from './LocalVideo';
import { RemoteVideo, type SafeViewProps } from './RemoteVideo';
import { t, useT } from '../i18n';

/** A swipe counts when the finger moves this far sideways, and mostly sideways. */
const SWIPE_PX = 80;

/**
 * A left swipe across the partner's video with a finger (the phone gesture for
 * Next; the Next button does the same for everyone else).
 */
function useSwipeLeft(onSwipe: () => void) {
  const start = useRef<{ id: number; x: number; y: number } | null>(null);
  return {
    onPointerDown: (e: PointerEvent) => {
      start.current = e.pointerType === 'touch' ? { id: e.pointerId, x: e.clientX, y: e.clientY } : null;
    },
    onPointerUp: (e: PointerEvent) => {
      const from = start.current;
      start.current = null;
      if (!from || from.id !== e.pointerId) return;
      const dx = e.clientX - from.x;
      if (dx <= -SWIPE_PX && Math.abs(e.clientY - from.y) < Math.abs(dx) / 2) onSwipe();
    },
    onPointerCancel: () => {
      start.current = null;
    },
  };
}

/** The videos, with who the partner is and what the page is doing laid over them. */
export function Stage({
  call,
  cam,
  onFirstFrame,
  onSwipeNext,
  partnerMedia = null,
  safe,
}: {
  call: CallState | null;
  cam: CameraState;
  onFirstFrame: (callSeq: number) => void;
  onSwipeNext: () => void;
  /** what the partner says it sends (media-state) */
  partnerMedia?: MediaState | null;
  /** safe view and the classifier (see RemoteVideo) */
  safe?: SafeViewProps;
}) {
  useT(); // render again when the language changes
  const inCall = call?.phase === 'matched' ? call : null;
  const swipe = useSwipeLeft(() => {
    if (inCall) onSwipeNext();
  });
  return (
    <section className="stage" aria-label={t('stage.label')} data-testid="stage" {...swipe}>
      <RemoteVideo
        stream={inCall?.remoteStream ?? null}
        callSeq={inCall?.callSeq ?? 0}
        onFirstFrame={onFirstFrame}
        partnerName={inCall?.partnerName}
        declared={inCall ? partnerMedia : null}
        safe={safe}
      />
      <div className="stage-overlay">
        {inCall ? (
          <div className="partner">
            <span className="partner-label">{t('stage.talkingTo')}</span> <strong data-testid="partner-name" dir="auto">{inCall.partnerName}</strong>
            {isBotName(inCall.partnerName) ? (
              <span className="bot-badge" data-testid="bot-badge" title={t('stage.botTitle')}>
                {' '}
                {t('stage.bot')}
              </span>
            ) : null}
            {ipHidden(inCall.iceTransportPolicy, inCall.relayed) ? (
              <span className="relay-badge" data-testid="relay-badge" title={t('stage.ipHiddenTitle')}>
                {' '}
                {t('stage.ipHidden')}
              </span>
            ) : null}
            <CommonGround interests={inCall.commonInterests} languages={inCall.commonLanguages} />
          </div>
        ) : null}
        {!inCall?.remoteStream ? (
          <div className="placeholder" aria-live="polite">
            {placeholder(call)}
          </div>
        ) : null}
      </div>
      <LocalVideo stream={cam.stream} camOn={cam.camOn} busy={cam.busy} error={cam.error} />
    </section>
  );
}

function placeholder(call: CallState | null): string {
  switch (call?.phase) {
    case 'searching':
      return t('stage.searching'); // no queue place: see searchWords
    case 'matched':
      return t('stage.connecting');
    default:
      return t('stage.pressStart');
  }
}
