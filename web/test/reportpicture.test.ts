import { describe, expect, it } from 'vitest';
import { base64Bytes, capturePicture, MAX_PICTURE_BYTES } from '../src/components/reportPicture';

describe('report picture', () => {
  it('counts the bytes base64 stands for, padding included', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 99_999, MAX_PICTURE_BYTES, MAX_PICTURE_BYTES + 1]) {
      const base64 = btoa('x'.repeat(n));
      expect(base64Bytes(base64)).toBe(n);
    }
  });

  it('offers nothing without a video or before its first frame', () => {
    expect(capturePicture(null)).toBeNull();
    // before its first frame a video's size is 0 x 0
    expect(capturePicture({ videoWidth: 0, videoHeight: 0 } as HTMLVideoElement)).toBeNull();
  });
});
