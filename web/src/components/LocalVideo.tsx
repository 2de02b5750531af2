import { useEffect, useRef } from 'react';

export function LocalVideo({ stream, camOn, busy, error }: { stream: MediaStream | null; camOn: boolean; busy: boolean; error: string | null }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    v.srcObject = stream;
    if (stream) v.play().catch(() => {});
    return () => {
      v.srcObject = null;
    };
  }, [stream]);
  return (
    <div className="local">
      <video ref={ref} data-testid="local-video" autoPlay playsInline muted aria-label="Your camera" className={stream && camOn ? '' : 'hidden-video'} />
      {!stream || !camOn ? (
        <div className="local-placeholder">{busy ? 'Starting camera…' : error ? 'No camera' : !stream ? 'Camera off' : 'Camera paused'}</div>
      ) : null}
    </div>
  );
}
