import { describe, expect, it } from 'vitest';
import { LocalCamera } from '../src/lib/camera';
import { MediaAccessError } from '../src/lib/media';
import { deferred, FakeStream, FakeTrack, flush } from './fakes';

function camera() {
  const requests: Array<ReturnType<typeof deferred<MediaStream>>> = [];
  const cam = new LocalCamera(() => {
    const d = deferred<MediaStream>();
    requests.push(d);
    return d.promise;
  });
  const stream = () => new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]);
  return { cam, requests, stream };
}

describe('the local camera', () => {
  it('asks the browser once while a request is pending, and shows busy until it is answered', async () => {
    const { cam, requests, stream } = camera();
    const a = cam.acquire();
    const b = cam.acquire();
    expect(requests).toHaveLength(1);
    expect(cam.getState().busy).toBe(true);
    const s = stream();
    requests[0].resolve(s as unknown as MediaStream);
    expect(await a).toBe(s);
    expect(await b).toBe(s);
    expect(cam.getState()).toMatchObject({ stream: s, busy: false, error: null });
    expect(await cam.acquire()).toBe(s);
    expect(requests).toHaveLength(1);
  });

  it('a stream that arrives after release is stopped at once and never shown', async () => {
    const { cam, requests, stream } = camera();
    const pending = cam.acquire();
    cam.release();
    expect(cam.getState().busy).toBe(false);
    const late = stream();
    requests[0].resolve(late as unknown as MediaStream);
    expect(await pending).toBeNull();
    expect(late.getTracks().every((t) => t.readyState === 'ended')).toBe(true);
    expect(cam.getState().stream).toBeNull();
    // and a new request after the release is a new one
    void cam.acquire();
    expect(requests).toHaveLength(2);
  });

  it('release stops the tracks; a refusal leaves its message unless released meanwhile', async () => {
    const { cam, requests, stream } = camera();
    void cam.acquire();
    const s = stream();
    requests[0].resolve(s as unknown as MediaStream);
    await flush();
    cam.release();
    expect(s.getTracks().every((t) => t.readyState === 'ended')).toBe(true);
    expect(cam.getState().stream).toBeNull();

    const refused = cam.acquire();
    requests[1].reject(new MediaAccessError('Camera and microphone access was blocked.', 'NotAllowedError'));
    expect(await refused).toBeNull();
    expect(cam.getState()).toMatchObject({ stream: null, busy: false, error: 'Camera and microphone access was blocked.' });
    cam.dismissError();

    void cam.acquire();
    cam.release();
    requests[2].reject(new MediaAccessError('late', 'NotAllowedError'));
    await flush();
    expect(cam.getState().error).toBeNull();
  });

  it('mute and camera-off act on the tracks, also of a stream opened later', async () => {
    const { cam, requests, stream } = camera();
    cam.setMic(false);
    void cam.acquire();
    const s = stream();
    requests[0].resolve(s as unknown as MediaStream);
    await flush();
    expect(s.getAudioTracks()[0].enabled).toBe(false);
    expect(s.getVideoTracks()[0].enabled).toBe(true);
    cam.setCamera(false);
    cam.setMic(true);
    expect(s.getAudioTracks()[0].enabled).toBe(true);
    expect(s.getVideoTracks()[0].enabled).toBe(false);
  });
});
