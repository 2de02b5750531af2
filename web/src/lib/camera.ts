// The local camera and microphone: one getUserMedia at a time, released on
// Stop, on a ban and when the room closes, and the mic / camera toggles.
// Each request is one Acquisition object; release() marks it over, so a
// stream that arrives afterwards is stopped at once instead of keeping the
// camera light on.

import { MediaAccessError, stopStream } from './media';

export interface CameraState {
  stream: MediaStream | null;
  /** getUserMedia is pending */
  busy: boolean;
  /** why the last request failed, for people */
  error: string | null;
  micOn: boolean;
  camOn: boolean;
}

interface Acquisition {
  readonly promise: Promise<MediaStream | null>;
  over: boolean;
}

export class LocalCamera {
  private state: CameraState = { stream: null, busy: false, error: null, micOn: true, camOn: true };
  private readonly listeners = new Set<() => void>();
  private pending: Acquisition | null = null;

  /** `open` asks for the devices (openCamera in media.ts); it rejects with a MediaAccessError. */
  constructor(private readonly open: () => Promise<MediaStream>) {}

  getState = (): CameraState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The current stream, or null (receive-only calls). */
  get stream(): MediaStream | null {
    return this.state.stream;
  }

  /** The stream, asking for it unless we have it or a request is pending; null when refused. */
  acquire(): Promise<MediaStream | null> {
    if (this.state.stream) return Promise.resolve(this.state.stream);
    if (this.pending) return this.pending.promise;
    const attempt: Acquisition = {
      over: false,
      promise: this.open().then(
        (stream) => {
          if (attempt.over) {
            stopStream(stream); // released while the browser was asking
            return null;
          }
          this.finish(attempt, { stream, error: null });
          this.applyToggles();
          return stream;
        },
        (err: unknown) => {
          if (!attempt.over) this.finish(attempt, { error: err instanceof MediaAccessError ? err.message : String(err) });
          return null;
        },
      ),
    };
    this.pending = attempt;
    this.set({ busy: true });
    return attempt.promise;
  }

  /** Turn the camera off: stop the tracks, forget a pending request. */
  release(): void {
    if (this.pending) this.pending.over = true;
    this.pending = null;
    stopStream(this.state.stream);
    if (this.state.stream || this.state.busy) this.set({ stream: null, busy: false });
  }

  /** Mute / unmute: acts on the tracks, which the peer connection shares. */
  setMic(micOn: boolean): void {
    this.set({ micOn });
    this.applyToggles();
  }

  setCamera(camOn: boolean): void {
    this.set({ camOn });
    this.applyToggles();
  }

  /**
   * Another camera or microphone (devices.ts): its track replaces the one of
   * the same kind in the current stream, in a new stream object so that the
   * preview follows; the old track is stopped and the new one keeps the
   * mute / camera toggle. False (and the track stopped) without a stream.
   */
  replaceTrack(track: MediaStreamTrack, makeStream: (tracks: MediaStreamTrack[]) => MediaStream = (t) => new MediaStream(t)): boolean {
    const stream = this.state.stream;
    if (!stream) {
      track.stop();
      return false;
    }
    const video = track.kind === 'video';
    const old = video ? stream.getVideoTracks() : stream.getAudioTracks();
    old.forEach((o) => o.stop());
    track.enabled = video ? this.state.camOn : this.state.micOn;
    const kept = video ? stream.getAudioTracks() : stream.getVideoTracks();
    this.set({ stream: makeStream(video ? [...kept, track] : [track, ...kept]) });
    return true;
  }

  /** The camera alone (kept for callers that only switch cameras). */
  replaceVideoTrack(track: MediaStreamTrack, makeStream?: (tracks: MediaStreamTrack[]) => MediaStream): boolean {
    return this.replaceTrack(track, makeStream);
  }

  dismissError(): void {
    this.set({ error: null });
  }

  private finish(attempt: Acquisition, patch: Partial<CameraState>): void {
    attempt.over = true;
    this.pending = null;
    this.set({ ...patch, busy: false });
  }

  private applyToggles(): void {
    const { stream, micOn, camOn } = this.state;
    stream?.getAudioTracks().forEach((t) => (t.enabled = micOn));
    stream?.getVideoTracks().forEach((t) => (t.enabled = camOn));
  }

  private set(patch: Partial<CameraState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}
