import { useEffect, useRef, useState } from 'react';

type VideoWithFrameCallback = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: () => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

/** The partner's video; tells the controller when the first frame is shown. */
export function RemoteVideo({ stream, callId, onFirstFrame }: { stream: MediaStream | null; callId: number; onFirstFrame: (callId: number) => void }) {
  const ref = useRef<VideoWithFrameCallback>(null);
  const [blockedAudio, setBlockedAudio] = useState(false);
  const firstFrame = useRef(onFirstFrame);
  firstFrame.current = onFirstFrame;

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
      if (!cancelled) firstFrame.current(callId);
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
  }, [stream, callId]);

  return (
    <>
      <video ref={ref} data-testid="remote-video" className="remote" autoPlay playsInline aria-label="Your partner’s video" />
      {blockedAudio && stream ? (
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
          Tap to hear your partner
        </button>
      ) : null}
    </>
  );
}
