// The still a report may carry (issue 24): the partner's video at the moment Report was
// pressed, as a small JPEG. The server refuses more than MAX_PICTURE_BYTES (core/evidence.py),
// so the page steps the quality down until it fits, and offers nothing if it never does.

export const MAX_PICTURE_BYTES = 100_000;
export const MAX_PICTURE_WIDTH = 640;
const QUALITIES = [0.7, 0.5, 0.3];

export interface ReportPicture {
  /** for the dialog's preview (an <img> src; the page's CSP allows data:) */
  dataUrl: string;
  /** what the report sends: the JPEG in base64, without the data: prefix */
  base64: string;
}

/** Bytes of the data base64 stands for. */
export function base64Bytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

/** The frame the remote video shows now, or null (no video, no frame yet, too big). */
export function capturePicture(video: HTMLVideoElement | null): ReportPicture | null {
  if (!video || !video.videoWidth || !video.videoHeight) return null;
  const scale = Math.min(1, MAX_PICTURE_WIDTH / video.videoWidth);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const context = canvas.getContext('2d');
  if (!context) return null;
  try {
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    for (const quality of QUALITIES) {
      const dataUrl = canvas.toDataURL('image/jpeg', quality);
      const base64 = dataUrl.slice(dataUrl.indexOf(',') + 1);
      // a browser without JPEG encoding answers with PNG: not what the server takes
      if (!dataUrl.startsWith('data:image/jpeg')) return null;
      if (base64Bytes(base64) <= MAX_PICTURE_BYTES) return { dataUrl, base64 };
    }
  } catch {
    // a tainted or lost frame: the report goes without a picture
  }
  return null;
}

/** The partner's video on the page, if a call shows one. */
export function remoteVideo(): HTMLVideoElement | null {
  return document.querySelector<HTMLVideoElement>('video[data-testid="remote-video"]');
}
