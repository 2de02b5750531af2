import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { io } from 'socket.io-client';
import { CallController, type CallState } from './lib/call';
import { MediaAccessError, openCamera, stopStream } from './lib/media';
import { peerRegistry } from './lib/runtime';
import { clearSession, createSession, loadSession, saveSession, validateNickname, type Session } from './lib/session';
import { SHORTCUT_LABELS, shortcutFor } from './lib/shortcuts';
import { JoinForm } from './components/JoinForm';
import { RemoteVideo } from './components/RemoteVideo';
import { LocalVideo } from './components/LocalVideo';
import { Toasts, type ToastItem } from './components/Toasts';
import { ChatPanel } from './components/ChatPanel';
import { InterestsInput } from './components/InterestsInput';
import { ReportDialog } from './components/ReportDialog';
import { BannedScreen } from './components/BannedScreen';
import { loadInterests, saveInterests } from './lib/interests';
import { loadPrivacy, savePrivacy } from './lib/privacy';
import { isBotName } from './lib/protocol';
import { banFromConnectError } from './lib/moderation';

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession(window.localStorage));
  const [joinError, setJoinError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);
  // bumped to open a fresh connection (e.g. after a ban ran out)
  const [attempt, setAttempt] = useState(0);

  const join = async (nickname: string) => {
    const invalid = validateNickname(nickname);
    if (invalid) return setJoinError(invalid);
    setJoining(true);
    setJoinError(null);
    try {
      const s = await createSession(nickname);
      saveSession(window.localStorage, s);
      setSession(s);
    } catch (err) {
      setJoinError((err as Error).message);
    } finally {
      setJoining(false);
    }
  };

  const signOut = useCallback((reason: string | null) => {
    clearSession(window.localStorage);
    setSession(null);
    setJoinError(reason);
  }, []);

  return (
    <div className="app">
      {session ? (
        <ChatRoom key={`${session.token}#${attempt}`} session={session} onSignOut={signOut} onReconnect={() => setAttempt((n) => n + 1)} />
      ) : (
        <>
          <header className="topbar">
            <Brand />
          </header>
          <main className="join-page">
            <JoinForm onJoin={join} busy={joining} />
          </main>
          <Toasts items={joinError ? [{ id: 'join', kind: 'error', message: joinError }] : []} onDismiss={() => setJoinError(null)} />
        </>
      )}
    </div>
  );
}

function Brand() {
  return (
    <div className="brand" aria-label="randomchat">
      <span className="brand-dot" aria-hidden="true" />
      randomchat
    </div>
  );
}

const EMPTY_STATE_SUBSCRIBE = () => () => {};

function useCallState(controller: CallController | null): CallState | null {
  return useSyncExternalStore(
    controller ? (cb) => controller.subscribe(cb) : EMPTY_STATE_SUBSCRIBE,
    () => (controller ? controller.getState() : null),
  );
}

function ChatRoom({ session, onSignOut, onReconnect }: { session: Session; onSignOut: (reason: string | null) => void; onReconnect: () => void }) {
  const [controller, setController] = useState<CallController | null>(null);
  const [connError, setConnError] = useState<string | null>(null);
  const [localStream, setLocalStream] = useState<MediaStream | null>(null);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [mediaBusy, setMediaBusy] = useState(false);
  const [micOn, setMicOn] = useState(true);
  const [camOn, setCamOn] = useState(true);
  const [notSent, setNotSent] = useState<string | null>(null);
  // the report dialog, with the partner and call it was opened for
  const [reportFor, setReportFor] = useState<{ name: string; callId: number } | null>(null);
  const reportOpenRef = useRef(false);
  reportOpenRef.current = reportFor !== null;
  const localRef = useRef<MediaStream | null>(null);
  const state = useCallState(controller);

  // Socket + call controller, one per token.
  useEffect(() => {
    const socket = io(window.location.origin + '/random-chat', {
      transports: ['websocket'],
      auth: { token: session.token },
    });
    const ctrl = new CallController({
      socket,
      createPeerConnection: peerRegistry.wrap((config) => new RTCPeerConnection(config)),
      getLocalStream: () => localRef.current,
      log: (...args) => console.debug('[randomchat]', ...args),
    });
    const stored = loadInterests(window.localStorage);
    ctrl.setInterests(stored.interests);
    ctrl.setStrict(stored.strict);
    ctrl.setPrivacy(loadPrivacy(window.localStorage));
    socket.on('connect', () => setConnError(null));
    socket.on('connect_error', (err: Error) => {
      if (banFromConnectError(err)) return; // the controller shows the banned screen
      if (!socket.active) {
        // The server refused us (bad or expired token): back to the join form.
        onSignOut(`${err.message || 'The server refused the connection.'} Please join again.`);
      } else {
        setConnError(`Cannot reach the server (${err.message}). Retrying…`);
      }
    });
    setController(ctrl);
    return () => {
      ctrl.dispose();
      socket.removeAllListeners();
      socket.disconnect();
      setController(null);
    };
  }, [session.token, onSignOut]);

  const pendingMedia = useRef<Promise<MediaStream | null> | null>(null);
  const pendingToken = useRef<object | null>(null);
  const mediaGeneration = useRef(0);

  // One getUserMedia at a time; a stream that arrives after Stop (or after
  // the page left the room) is stopped at once instead of leaking the camera.
  const acquireMedia = useCallback((): Promise<MediaStream | null> => {
    if (localRef.current) return Promise.resolve(localRef.current);
    if (pendingMedia.current) return pendingMedia.current;
    const generation = mediaGeneration.current;
    setMediaBusy(true);
    const token = {};
    const pending = (async () => {
      try {
        const stream = await openCamera({ isSecureContext: window.isSecureContext, mediaDevices: navigator.mediaDevices });
        if (generation !== mediaGeneration.current) {
          stopStream(stream);
          return null;
        }
        localRef.current = stream;
        setLocalStream(stream);
        setMediaError(null);
        return stream;
      } catch (err) {
        if (generation === mediaGeneration.current) setMediaError(err instanceof MediaAccessError ? err.message : String(err));
        return null;
      } finally {
        if (pendingToken.current === token) {
          pendingToken.current = null;
          pendingMedia.current = null;
          setMediaBusy(false);
        }
      }
    })();
    pendingMedia.current = pending;
    pendingToken.current = token;
    return pending;
  }, []);

  const releaseMedia = useCallback(() => {
    mediaGeneration.current += 1;
    pendingMedia.current = null;
    pendingToken.current = null;
    setMediaBusy(false);
    stopStream(localRef.current);
    localRef.current = null;
    setLocalStream(null);
  }, []);

  // Local preview as soon as we joined; camera released when leaving the page.
  useEffect(() => {
    void acquireMedia();
    return () => releaseMedia();
  }, [acquireMedia, releaseMedia]);

  // Mute / camera-off act on the tracks, which the peer connection shares.
  useEffect(() => {
    localStream?.getAudioTracks().forEach((t) => (t.enabled = micOn));
    localStream?.getVideoTracks().forEach((t) => (t.enabled = camOn));
  }, [localStream, micOn, camOn]);

  const phase = state?.phase ?? 'idle';
  const socketConnected = state?.socketConnected ?? false;
  const banned = state?.banned ?? null;

  // Banned: the camera goes off and no dialog stays open.
  useEffect(() => {
    if (!banned) return;
    releaseMedia();
    setReportFor(null);
  }, [banned, releaseMedia]);

  // Remember interests for the next visit.
  const interests = state?.interests;
  const strict = state?.strict;
  useEffect(() => {
    if (interests !== undefined && strict !== undefined) saveInterests(window.localStorage, interests, strict);
  }, [interests, strict]);
  const privacy = state?.privacy;
  useEffect(() => {
    if (privacy !== undefined) savePrivacy(window.localStorage, privacy);
  }, [privacy]);

  const start = useCallback(async () => {
    if (!controller || controller.getState().phase !== 'idle' || controller.getState().banned) return;
    await acquireMedia(); // without a camera we still search (receive only)
    controller.start();
  }, [controller, acquireMedia]);

  const next = useCallback(() => controller?.next(), [controller]);

  const stop = useCallback(() => {
    controller?.stop();
    releaseMedia();
  }, [controller, releaseMedia]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutFor(e);
      if (!action || !controller || reportOpenRef.current || controller.getState().banned) return;
      e.preventDefault();
      if (action === 'stop') stop();
      else if (controller.getState().phase === 'idle') void start();
      else next();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [controller, start, next, stop]);

  const toasts: ToastItem[] = [];
  if (state?.toast) {
    const t = state.toast;
    toasts.push({ id: `call-${t.id}`, kind: t.kind, message: t.message, onDismiss: () => controller?.dismissToast() });
  }
  if (connError) toasts.push({ id: 'conn', kind: 'error', message: connError, onDismiss: () => setConnError(null) });
  if (notSent) toasts.push({ id: 'not-sent', kind: 'error', message: notSent, onDismiss: () => setNotSent(null) });
  if (mediaError) toasts.push({ id: 'media', kind: 'error', message: mediaError, onDismiss: () => setMediaError(null) });

  const inCall = phase === 'connected';
  const hasMedia = Boolean(localStream);
  const commonInterests = state?.commonInterests ?? [];
  const moderationTarget = state?.moderationTarget ?? null;

  if (banned) {
    return (
      <>
        <header className="topbar">
          <Brand />
        </header>
        <BannedScreen ban={banned} onRetry={onReconnect} />
      </>
    );
  }

  return (
    <>
      <header className="topbar">
        <Brand />
        <StatusBar state={state} />
        <div className="who">
          <span className="who-name" title="Your nickname">{session.username ?? 'You'}</span>
          <button type="button" className="link" onClick={() => { stop(); onSignOut(null); }} aria-label="Change nickname">
            Change
          </button>
        </div>
      </header>

      <main className="room">
        <div className="call-column">
          <section className="stage" aria-label="Video">
            <RemoteVideo
              stream={state?.remoteStream ?? null}
              callId={state?.callId ?? 0}
              onFirstFrame={(id) => controller?.reportFirstFrame(id)}
            />
            <div className="stage-overlay">
              {inCall ? (
                <div className="partner">
                  <span className="partner-label">Talking to</span>{' '}
                  <strong data-testid="partner-name">{state?.partnerName}</strong>
                  {isBotName(state?.partnerName) ? (
                    <span className="bot-badge" data-testid="bot-badge" title="An automatic partner: the echo bot sends you your own video and sound back">
                      {' '}
                      bot
                    </span>
                  ) : null}
                  {state?.iceTransportPolicy === 'relay' ? (
                    <span className="relay-badge" data-testid="relay-badge" title="This call goes through the relay server: your partner cannot see your IP address">
                      {' '}
                      · IP hidden
                    </span>
                  ) : null}
                  {commonInterests.length ? (
                    <span className="common" data-testid="common-interests">
                      {' '}
                      · you both like {commonInterests.join(', ')}
                    </span>
                  ) : null}
                </div>
              ) : null}
              {!state?.remoteStream ? (
                <div className="placeholder" aria-live="polite">
                  {phase === 'searching'
                    ? `Looking for someone…${state?.queuePosition ? ` You are #${state.queuePosition} in the queue.` : ''}`
                    : inCall
                      ? 'Connecting…'
                      : 'Press Start to meet a stranger.'}
                </div>
              ) : null}
            </div>
            <LocalVideo stream={localStream} camOn={camOn} busy={mediaBusy} error={mediaError} />
          </section>

          {state?.notice ? (
            <p className="notice" data-testid="notice" role="status">
              {state.notice}
            </p>
          ) : null}

          <nav className="controls" aria-label="Call controls">
            <div className="main-buttons">
              <button
                type="button"
                className="btn primary"
                data-testid="start"
                aria-label="Start: find a partner"
                disabled={!controller || !socketConnected || phase !== 'idle' || mediaBusy}
                onClick={() => void start()}
              >
                Start
              </button>
              <button
                type="button"
                className="btn"
                data-testid="next"
                aria-label={`Next: end this call and find someone new (shortcut ${SHORTCUT_LABELS.next.key})`}
                aria-keyshortcuts={SHORTCUT_LABELS.next.aria}
                disabled={!inCall}
                onClick={next}
              >
                Next <kbd>{SHORTCUT_LABELS.next.key}</kbd>
              </button>
              <button
                type="button"
                className="btn danger"
                data-testid="stop"
                aria-label={`Stop: end everything and turn the camera off (shortcut ${SHORTCUT_LABELS.stop.key})`}
                aria-keyshortcuts={SHORTCUT_LABELS.stop.aria}
                disabled={phase === 'idle' && !hasMedia}
                onClick={stop}
              >
                Stop <kbd>{SHORTCUT_LABELS.stop.key}</kbd>
              </button>
            </div>
            <div className="toggles">
              <button
                type="button"
                className={`btn toggle ${micOn ? '' : 'off'}`}
                data-testid="mute"
                aria-pressed={!micOn}
                aria-label={micOn ? 'Mute microphone' : 'Unmute microphone'}
                disabled={!hasMedia}
                onClick={() => setMicOn((v) => !v)}
              >
                {micOn ? 'Mic on' : 'Mic muted'}
              </button>
              <button
                type="button"
                className={`btn toggle ${camOn ? '' : 'off'}`}
                data-testid="camera"
                aria-pressed={!camOn}
                aria-label={camOn ? 'Turn camera off' : 'Turn camera on'}
                disabled={!hasMedia}
                onClick={() => setCamOn((v) => !v)}
              >
                {camOn ? 'Camera on' : 'Camera off'}
              </button>
              <label className="check">
                <input
                  type="checkbox"
                  data-testid="auto-search"
                  checked={state?.autoSearch ?? true}
                  onChange={(e) => controller?.setAutoSearch(e.target.checked)}
                />
                Search again when a partner leaves
              </label>
              <label className="check" title="Calls go through the relay server, so partners cannot learn your IP address (may cost a little quality). Applies from the next search.">
                <input
                  type="checkbox"
                  data-testid="privacy"
                  checked={state?.privacy ?? false}
                  onChange={(e) => controller?.setPrivacy(e.target.checked)}
                />
                Hide my IP (relay only)
              </label>
            </div>
          </nav>
        </div>

        <ChatPanel
          chat={state?.chat ?? { lines: [], open: false, partnerName: null, partnerTyping: false }}
          disabled={!controller || !socketConnected}
          onSend={(text) => controller?.sendChat(text) ?? { ok: false, error: 'Not connected.' }}
          onInput={(value) => controller?.chatInput(value)}
          onBlur={() => controller?.chatBlur()}
          moderationTarget={moderationTarget}
          onReport={() => moderationTarget && setReportFor({ name: moderationTarget, callId: state?.callId ?? 0 })}
          onBlock={() => controller?.block()}
        />

        <InterestsInput
          interests={state?.interests ?? []}
          onChange={(next) => controller?.setInterests(next)}
          strict={state?.strict ?? false}
          onStrictChange={(on) => controller?.setStrict(on)}
        />
      </main>

      {reportFor ? (
        <ReportDialog
          target={reportFor.name}
          onClose={() => setReportFor(null)}
          onSubmit={(reason, note) => {
            if (!controller?.report(reason, note, reportFor.callId)) setNotSent(`Report not sent: ${reportFor.name} can no longer be reported (you met someone new).`);
            setReportFor(null);
          }}
        />
      ) : null}

      <Toasts items={toasts} />
    </>
  );
}

function StatusBar({ state }: { state: CallState | null }) {
  const phase = state?.phase ?? 'idle';
  const label = !state?.socketConnected
    ? 'offline'
    : phase === 'searching'
      ? `searching${state.queuePosition ? ` · #${state.queuePosition}` : ''}`
      : phase;
  return (
    <div className="status-bar">
      <span className={`pill phase-${state?.socketConnected ? phase : 'offline'}`} data-testid="status" data-phase={phase} role="status" aria-live="polite">
        {label}
      </span>
      {state?.quality ? (
        <span className={`pill quality-${state.quality}`} title={state.latencyMs !== null ? `Server round trip ${state.latencyMs} ms` : undefined} data-testid="quality">
          {state.quality}
        </span>
      ) : null}
      {state?.connectionState ? (
        <span
          className={`pill peer peer-${state.connectionState}`}
          data-testid="peer-state"
          data-connection-state={state.connectionState}
          data-ice-state={state.iceConnectionState ?? ''}
          title="WebRTC connection state / ICE connection state"
        >
          <span className="dot" aria-hidden="true" />
          {state.connectionState} · ice {state.iceConnectionState}
        </span>
      ) : null}
    </div>
  );
}
