import { useEffect, useRef, useState } from 'react';
import { createClassifier, exposeClassifierStats, type FrameClassifier, type Verdict } from '../lib/classifier';
import { FrameSampler, grabVideoFrame } from '../lib/frameSampler';
import { browserTimers } from '../lib/timers';
import { describePartnerMedia, isStalled, partnerVideoStatus, type ArrivingVideo, type MediaState } from '../lib/mediaState';
import './safety.css';
import { useT } from '../i18n';

type VideoWithFrameCallback = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: () => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export interface SafeViewProps {
  /** blurred: safe view before the tap, or the classifier saw nudity */
  veiled: boolean;
  /** the classifier saw nudity in this call */
  flagged: boolean;
  onReveal: () => void;
  onReportNudity: () => void;
  onVerdict: (v: Verdict) => void;
}

const FLOWING: ArrivingVideo = { trackMuted: false, stalled: false };

/**
 * The partner's video; tells the controller when the first frame is shown.
 * Also: safe view (blur until revealed, the classifier on the received
 * frames) and what arrives (camera off, picture stopped, muted).
 */
export function RemoteVideo({
  stream,
  callSeq,
  onFirstFrame,
  partnerName,
  declared = null,
  safe,
}: {
  stream: MediaStream | null;
  callSeq: number;
  onFirstFrame: (callSeq: number) => void;
  partnerName?: string;
  /** what the partner says it sends (media-state) */
  declared?: MediaState | null;
  safe?: SafeViewProps;
}) {
  const t = useT();
  const ref = useRef<VideoWithFrameCallback>(null);
  const [blockedAudio, setBlockedAudio] = useState(false);
  const [arriving, setArriving] = useState<ArrivingVideo>(FLOWING);
  const firstFrame = useRef(onFirstFrame);
  firstFrame.current = onFirstFrame;
  const onVerdict = useRef(safe?.onVerdict);
  onVerdict.current = safe?.onVerdict;
  // one classifier (one worker, the model loaded once) for the room's lifetime
  const classifier = useRef<FrameClassifier | null>(null);
  useEffect(
    () => () => {
      classifier.current?.dispose();
      classifier.current = null;
    },
    [],
  );

  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    v.srcObject = stream;
    if (!stream) return;
    let cancelled = false;
    v.muted = false;
    v.play().catch((err: Error) => {
      // Autoplay with sound can be refused; play muted and offer to unmute.
      if (cancelled || err?.name !== 'NotAllowedError') return;
      v.muted = true;
      setBlockedAudio(true);
      v.play().catch(() => {});
    });
    let handle: number | null = null;
    const report = () => {
      if (!cancelled) firstFrame.current(callSeq);
    };
    if (typeof v.requestVideoFrameCallback === 'function') {
      handle = v.requestVideoFrameCallback(report);
    } else {
      v.addEventListener('playing', report, { once: true });
    }
    return () => {
      cancelled = true;
      if (handle !== null) v.cancelVideoFrameCallback?.(handle);
      v.removeEventListener('playing', report);
      v.pause();
      v.srcObject = null;
    };
  }, [stream, callSeq]);

  // What arrives: the remote track's mute / unmute (no media from the
  // network), and a frame clock (a picture that stopped changing).
  useEffect(() => {
    setArriving(FLOWING);
    const v = ref.current;
    const track = stream?.getVideoTracks()[0];
    if (!v || !stream || !track) return;
    let trackMuted = track.muted;
    // A new call's track is muted until media arrives: that is "connecting", and only a
    // track that once carried media and stopped is "paused".
    let notYet = track.muted;
    let lastFrameAt: number | null = null;
    let frameHandle: number | null = null;
    const publish = () => {
      const stalled = document.visibilityState === 'visible' && isStalled(lastFrameAt, performance.now());
      setArriving((prev) =>
        prev.trackMuted === trackMuted && prev.stalled === stalled && Boolean(prev.notYet) === notYet ? prev : { trackMuted, stalled, notYet },
      );
    };
    const onMute = () => {
      trackMuted = true;
      publish();
    };
    const onUnmute = () => {
      trackMuted = false;
      notYet = false;
      publish();
    };
    track.addEventListener('mute', onMute);
    track.addEventListener('unmute', onUnmute);
    const onFrame = () => {
      lastFrameAt = performance.now();
      notYet = false;
      frameHandle = v.requestVideoFrameCallback?.(onFrame) ?? null;
    };
    if (typeof v.requestVideoFrameCallback === 'function') frameHandle = v.requestVideoFrameCallback(onFrame);
    const timer = window.setInterval(publish, 500);
    publish();
    return () => {
      track.removeEventListener('mute', onMute);
      track.removeEventListener('unmute', onUnmute);
      if (frameHandle !== null) v.cancelVideoFrameCallback?.(frameHandle);
      window.clearInterval(timer);
    };
  }, [stream]);

  // The classifier on the received frames (about one a second, never two at once).
  const classify = Boolean(safe);
  useEffect(() => {
    const v = ref.current;
    if (!v || !stream || !classify) return;
    classifier.current ??= createClassifier();
    const sampler = new FrameSampler({
      classifier: classifier.current,
      grab: () => grabVideoFrame(v),
      onVerdict: (verdict) => onVerdict.current?.(verdict),
      timers: browserTimers,
      now: () => performance.now(),
      intervalMs: 1000,
    });
    exposeClassifierStats(() => sampler.getStats());
    return () => sampler.stop();
  }, [stream, classify, callSeq]);

  const status = stream ? partnerVideoStatus(declared, arriving) : null;
  const muted = Boolean(stream && declared && !declared.audio);
  const veiled = Boolean(stream && safe?.veiled && !status);
  return (
    <>
      <video ref={ref} data-testid="remote-video" className={`remote${veiled ? ' veiled' : ''}`} data-veiled={veiled ? 'true' : 'false'} autoPlay playsInline aria-label={t('remote.video')} />
      {status ? (
        <div className="partner-off" data-testid="partner-video-state">
          {status === 'Camera off' ? t('remote.cameraOff') : status === 'Connecting' ? t('stage.connecting') : t('remote.videoPaused')}
        </div>
      ) : null}
      {muted ? (
        <div className="partner-badges">
          <span className="partner-badge" data-testid="partner-muted">
            {t('remote.muted')}
          </span>
        </div>
      ) : null}
      <p className="sr-only" aria-live="polite" data-testid="partner-media-live">
        {stream ? describePartnerMedia(partnerName ?? t('remote.yourPartner'), declared, status) : ''}
      </p>
      {veiled && safe ? (
        <div className={`veil${safe.flagged ? ' flagged' : ''}`} data-testid="safe-view-veil">
          <p role={safe.flagged ? 'alert' : undefined}>{safe.flagged ? t('remote.flagged') : t('remote.veiled')}</p>
          <div className="veil-buttons">
            <button type="button" className="btn" data-testid="safe-view-reveal" onClick={safe.onReveal}>
              {safe.flagged ? t('remote.showAnyway') : t('remote.show')}
            </button>
            {safe.flagged ? (
              <button type="button" className="btn danger" data-testid="report-nudity" onClick={safe.onReportNudity}>
                {t('remote.reportNudity')}
              </button>
            ) : null}
          </div>
        </div>
      ) : null}
      {!veiled && stream && safe?.flagged ? (
        <button type="button" className="btn danger unmute" data-testid="report-nudity" onClick={safe.onReportNudity}>
          {t('remote.reportNudity')}
        </button>
      ) : null}
      {blockedAudio && stream && !(safe?.flagged && !veiled) ? (
        <button
          type="button"
          className="btn unmute"
          onClick={() => {
            const v = ref.current;
            if (v) {
              v.muted = false;
              void v.play().catch(() => {});
            }
            setBlockedAudio(false);
          }}
        >
          {t('remote.tapToHear')}
        </button>
      ) : null}
    </>
  );
}
