import { useEffect, useRef } from 'react';
import { useT } from '../i18n';

export function LocalVideo({ stream, camOn, busy, error }: { stream: MediaStream | null; camOn: boolean; busy: boolean; error: string | null }) {
  const t = useT();
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
      <video ref={ref} data-testid="local-video" autoPlay playsInline muted aria-label={t('local.video')} className={stream && camOn ? '' : 'hidden-video'} />
      {!stream || !camOn ? (
        <div className="local-placeholder">{busy ? t('local.starting') : error ? t('local.none') : !stream ? t('local.off') : t('local.paused')}</div>
      ) : null}
    </div>
  );
}
