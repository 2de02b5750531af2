// Camera/microphone access with a human message for each failure.

import { t } from '../i18n';

export interface MediaEnv {
  isSecureContext: boolean;
  mediaDevices?: { getUserMedia(c: MediaStreamConstraints): Promise<MediaStream> } | undefined;
}

export class MediaAccessError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'MediaAccessError';
  }
}

export function describeMediaError(err: unknown): string {
  const name = (err as { name?: string } | null)?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return t('media.blocked');
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return t('media.notFound');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return t('media.inUse');
    case 'InsecureContext':
      return t('media.insecure');
    default:
      return (err as Error)?.message ? t('media.failedWhy', { error: (err as Error).message }) : t('media.failed');
  }
}

/** getUserMedia that fails with a MediaAccessError carrying a readable message. */
export async function openCamera(env: MediaEnv): Promise<MediaStream> {
  if (!env.isSecureContext || !env.mediaDevices?.getUserMedia) {
    throw new MediaAccessError(describeMediaError({ name: 'InsecureContext' }), 'InsecureContext');
  }
  try {
    return await env.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: { echoCancellation: true, noiseSuppression: true },
    });
  } catch (err) {
    throw new MediaAccessError(describeMediaError(err), (err as Error)?.name ?? 'Error');
  }
}

export function stopStream(stream: MediaStream | null | undefined): void {
  stream?.getTracks().forEach((t) => t.stop());
}
