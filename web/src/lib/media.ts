// Camera/microphone access with a human message for each failure.

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
      return 'Camera and microphone access was blocked. Allow them in your browser’s site settings, then press Start again.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Plug one in, then press Start again.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'Your camera or microphone is in use by another app (or failed to start). Close the other app, then press Start again.';
    case 'InsecureContext':
      return 'Camera access needs a secure page: open this site over https:// (or on localhost).';
    default:
      return `Could not start camera or microphone${(err as Error)?.message ? `: ${(err as Error).message}` : '.'}`;
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
