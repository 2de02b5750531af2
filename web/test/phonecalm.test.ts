// The calm phone room (issue 24): which button is the primary action, what the
// settings sheet holds, and the microphone / camera pickers' logic
// (devices.ts, LocalCamera.replaceTrack).
import { describe, expect, it } from 'vitest';
import { LocalCamera } from '../src/lib/camera';
import { afterFlip, currentDevice, listInputs, openAudio } from '../src/lib/devices';
import { primaryAction, sheetContents } from '../src/lib/roomLayout';
import { FakeStream, FakeTrack } from './fakes';

const info = (kind: MediaDeviceKind, deviceId: string, label = '') => ({ kind, deviceId, label, groupId: '', toJSON: () => ({}) }) as MediaDeviceInfo;

describe('the room layout', () => {
  it('draws exactly one primary action: Start out of a call, Next in one', () => {
    expect(primaryAction('idle')).toBe('start');
    expect(primaryAction('searching')).toBe('start');
    expect(primaryAction('matched')).toBe('next');
  });

  it('puts every choice in the sheet between calls, the device pickers in a video call, nothing in a text call', () => {
    expect(sheetContents('idle', 'video', true)).toBe('all');
    expect(sheetContents('searching', 'text', false)).toBe('all');
    expect(sheetContents('matched', 'video', true)).toBe('devices');
    expect(sheetContents('matched', 'video', false)).toBe('none'); // receive-only: nothing to switch
    expect(sheetContents('matched', 'text', false)).toBe('none');
    expect(sheetContents('banned', 'video', true)).toBe('none');
  });
});

describe('the device pickers', () => {
  it('lists cameras and microphones from one enumerateDevices, naming the unnamed and cutting long names', async () => {
    const long = 'x'.repeat(500);
    const media = {
      enumerateDevices: async () => [
        info('videoinput', 'cam-a', 'Front'),
        info('audioinput', 'default', 'Default - Mic'),
        info('audioinput', 'mic-b', ''),
        info('videoinput', 'cam-b', long),
        info('audiooutput', 'spk', 'Speaker'),
        info('videoinput', '', 'no id yet'),
      ],
    };
    const { cameras, microphones } = await listInputs(media);
    expect(cameras.map((c) => c.deviceId)).toEqual(['cam-a', 'cam-b']);
    expect(cameras[1].label.length).toBe(80);
    expect(microphones).toEqual([
      { deviceId: 'default', label: 'Default - Mic' },
      { deviceId: 'mic-b', label: 'Microphone 2' },
    ]);
  });

  it('opens exactly the chosen microphone, and refuses a stream without sound', async () => {
    const asked: MediaStreamConstraints[] = [];
    const track = new FakeTrack('audio');
    const media = {
      getUserMedia: async (c?: MediaStreamConstraints) => {
        asked.push(c ?? {});
        return new FakeStream(c?.audio ? [track] : []) as unknown as MediaStream;
      },
    };
    expect(await openAudio(media, 'mic-b')).toBe(track);
    expect(asked[0]).toMatchObject({ audio: { deviceId: { exact: 'mic-b' } }, video: false });
    const silent = { getUserMedia: async () => new FakeStream([]) as unknown as MediaStream };
    await expect(openAudio(silent, 'mic-b')).rejects.toThrow('The microphone gave no sound.');
  });

  it('a flip that got the same camera back moves on to the next one', () => {
    const cams = [
      { deviceId: 'a', label: 'A' },
      { deviceId: 'b', label: 'B' },
      { deviceId: 'c', label: 'C' },
    ];
    expect(afterFlip(cams, 'a', 'b')).toBeNull(); // facingMode found the other side
    expect(afterFlip(cams, 'b', 'b')).toBe('c');
    expect(afterFlip(cams, 'c', 'c')).toBe('a');
    expect(afterFlip(cams.slice(0, 1), 'a', 'a')).toBeNull();
    expect(afterFlip(cams, 'a', '')).toBeNull(); // the browser does not say: keep what it gave
  });

  it('reads the device a stream uses, or nothing', () => {
    const video = Object.assign(new FakeTrack('video'), { getSettings: () => ({ deviceId: 'cam-b' }) });
    const stream = new FakeStream([new FakeTrack('audio'), video]) as unknown as MediaStream;
    expect(currentDevice(stream, 'video')).toBe('cam-b');
    expect(currentDevice(stream, 'audio')).toBe(''); // the fake's track has no settings
    expect(currentDevice(null, 'video')).toBe('');
  });

  it('a new microphone replaces the old one in the preview stream and keeps the mute', async () => {
    const oldAudio = new FakeTrack('audio');
    const video = new FakeTrack('video');
    const camera = new LocalCamera(async () => new FakeStream([oldAudio, video]) as unknown as MediaStream);
    await camera.acquire();
    camera.setMic(false);
    const mic = new FakeTrack('audio');
    const made = (tracks: MediaStreamTrack[]) => new FakeStream(tracks as unknown as FakeTrack[]) as unknown as MediaStream;
    expect(camera.replaceTrack(mic as unknown as MediaStreamTrack, made)).toBe(true);
    expect(oldAudio.readyState).toBe('ended');
    expect(video.readyState).toBe('live'); // the camera is untouched
    expect(camera.stream?.getTracks()).toEqual([mic, video]);
    expect(mic.enabled).toBe(false);

    camera.release();
    const late = new FakeTrack('audio');
    expect(camera.replaceTrack(late as unknown as MediaStreamTrack, made)).toBe(false);
    expect(late.readyState).toBe('ended'); // nothing to put it in: not left running
  });
});
