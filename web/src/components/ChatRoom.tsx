import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { CommonGround } from './CommonGround';
import { useCallController } from '../hooks/useCallController';
import { useCamera } from '../hooks/useCamera';
import { usePersistentChoices } from '../hooks/usePersistentChoices';
import { useShortcuts } from '../hooks/useShortcuts';
import type { Choices } from '../lib/choices';
import { hasCameraTrack, videoBlocker } from '../lib/mode';
import { startVeil, veil } from '../lib/safeview';
import { warmClassifier } from '../lib/classifier';
import { planWarmup } from '../lib/classifierWarmup';
import { stillBanned } from '../lib/moderation';
import type { Session } from '../lib/session';
import { BannedScreen } from './BannedScreen';
import { Brand } from './Brand';
import { CallControls } from './CallControls';
import { ChatPanel } from './ChatPanel';
import { InterestsInput } from './InterestsInput';
import { LastCall } from './LastCall';
import { ReportDialog } from './ReportDialog';
import { Stage } from './Stage';
import { DevicePicker, FlipButton } from './DevicePicker';
import { SearchOptions } from './SearchOptions';
import { SettingsPanel } from './SettingsPanel';
import { SettingsSheet, SheetButton } from './SettingsSheet';
import { useDevices } from '../hooks/useDevices';
import { useMediaQuery } from '../hooks/useMediaQuery';
import { useTopbarHeight } from '../hooks/useTopbarHeight';
import { PHONE_QUERY, sheetContents } from '../lib/roomLayout';
import { StatusBar } from './StatusBar';
import { Toasts, type ToastItem } from './Toasts';
import { useT } from '../i18n';
import { LanguageSwitch } from './LanguageSwitch';
import { OnlineCount } from './OnlineCount';

const NO_CHAT = { lines: [], open: false, partnerName: null, partnerTyping: false };

/** The page after joining: one socket, one controller and one camera for its lifetime. */
export function ChatRoom({ session, onSignOut, onReconnect }: { session: Session; onSignOut: (reason: string | null) => void; onReconnect: () => void }) {
  const t = useT();
  // the remembered choices (choices.ts): the settings show them, each search sends them
  const { choices, update, read } = usePersistentChoices();
  // video or text chat (mode.ts): text mode asks for no camera at all
  const mode = choices.mode;
  const { camera, camState } = useCamera(mode === 'video');
  const { controller, state } = useCallController(session.token, camera, onSignOut, read);
  const checkBan = useCallback(() => stillBanned(session.token), [session.token]);
  // Start in video mode found no camera: say why and offer text chat
  const [cameraRequired, setCameraRequired] = useState(false);
  // safe view (safeview.ts): the blur of the current call; the settings are choices
  const safeView = choices.safeView;
  const [veilState, dispatchVeil] = useReducer(veil, safeView, startVeil);
  // the report dialog, with the partner and call it was opened for
  const [reportFor, setReportFor] = useState<{ name: string; callSeq: number } | null>(null);
  const [notSent, setNotSent] = useState<string | null>(null);
  const call = state?.call ?? null;
  const isBanned = call?.phase === 'banned';
  const callSeq = call?.phase === 'matched' ? call.callSeq : 0;
  // a phone keeps the secondary choices in a sheet (roomLayout.ts); a wider screen shows them
  const compact = useMediaQuery(PHONE_QUERY);
  const [sheetOpen, setSheetOpen] = useState(false);
  const devices = useDevices(camera, camState, controller);
  const topbar = useRef<HTMLElement | null>(null);
  useTopbarHeight(topbar);

  // a new partner is what matters: the sheet gets out of the way
  useEffect(() => setSheetOpen(false), [callSeq]);

  // every new call starts behind the veil again (when safe view is on)
  useEffect(() => {
    const { safeView: on, autoLift } = read();
    dispatchVeil({ type: 'new-call', safeView: on, autoLift });
  }, [callSeq, read]);

  // the classifier's model loads while the user waits, not after the partner's first frame
  const phase = call?.phase ?? 'idle';
  useEffect(() => planWarmup({ mode, phase, safeView }, warmClassifier, window), [mode, phase, safeView]);

  // the partner is told what we send (media-state) on every toggle and when the call connects
  useEffect(() => {
    const stream = camState.stream;
    controller?.setLocalMedia({
      video: camState.camOn && hasCameraTrack(stream),
      audio: camState.micOn && Boolean(stream?.getAudioTracks().some((t) => t.readyState === 'live')),
    });
  }, [controller, camState.stream, camState.camOn, camState.micOn]);

  // A choice changes for the next search; what it means for this screen happens here, at once.
  const change = useCallback(
    (patch: Partial<Choices>) => {
      update(patch);
      if (patch.mode) setCameraRequired(false);
      if (patch.mode === 'text') camera.release();
      if (patch.safeView !== undefined) dispatchVeil({ type: 'setting', safeView: patch.safeView });
      if (patch.autoLift !== undefined) dispatchVeil({ type: 'auto-lift', on: patch.autoLift });
    },
    [update, camera],
  );

  // Banned: the camera goes off (the banned screen replaces the room and its dialog).
  useEffect(() => {
    if (isBanned) camera.release();
  }, [isBanned, camera]);

  const start = useCallback(async () => {
    if (controller?.getState().call.phase !== 'idle') return;
    if (mode === 'video') {
      // a video search needs a camera track: nobody watches unseen
      const stream = await camera.acquire();
      if (!hasCameraTrack(stream)) return setCameraRequired(true);
    }
    setCameraRequired(false);
    controller.start();
  }, [controller, camera, mode]);

  const stop = useCallback(() => {
    controller?.stop();
    camera.release();
  }, [controller, camera]);

  useShortcuts(Boolean(controller) && !reportFor && !isBanned && !sheetOpen, {
    next: () => (controller?.getState().call.phase === 'idle' ? void start() : controller?.next()),
    stop,
  });

  if (call?.phase === 'banned') {
    return (
      <>
        <header className="topbar">
          <Brand />
          <LanguageSwitch />
        </header>
        <BannedScreen ban={call.ban} onRetry={onReconnect} stillBanned={checkBan} />
      </>
    );
  }

  const toasts: ToastItem[] = [];
  if (state?.toast) toasts.push({ id: `call-${state.toast.id}`, kind: state.toast.kind, message: state.toast.message, onDismiss: () => controller?.dismissToast() });
  if (notSent) toasts.push({ id: 'not-sent', kind: 'error', message: notSent, onDismiss: () => setNotSent(null) });
  if (camState.error) toasts.push({ id: 'media', kind: 'error', message: camState.error, onDismiss: () => camera.dismissError() });
  const moderationTarget = state?.moderationTarget ?? null;
  const notice = call?.phase === 'idle' || call?.phase === 'searching' ? call.notice : null;
  const textMode = call?.phase === 'matched' ? call.mode === 'text' : mode === 'text';
  const needsCamera =
    mode === 'video' && call?.phase !== 'matched' && !camState.busy && !hasCameraTrack(camState.stream) && (cameraRequired || Boolean(camState.error));

  const searchOptions = <SearchOptions phase={call?.phase ?? 'idle'} choices={choices} change={change} />;
  const interests = (
    <InterestsInput
      interests={choices.interests}
      onChange={(next) => change({ interests: next })}
      strict={choices.strict}
      onStrictChange={(on) => change({ strict: on })}
    />
  );
  const sheet = compact ? sheetContents(call?.phase ?? 'idle', mode, Boolean(camState.stream)) : 'none';
  const sheetTitle = sheet === 'devices' ? t('sheet.devices') : t('settings.title');
  // nothing left to choose (a text call, a wider window): the sheet is gone, so it is not open
  if (sheet === 'none' && sheetOpen) setSheetOpen(false);

  return (
    <>
      <header className="topbar" ref={topbar}>
        <Brand heading />
        <StatusBar state={state} />
        <div className="who">
          <span className="who-name" title={t('room.yourNickname')} dir="auto">
            {session.username ?? t('room.you')}
          </span>
          <button
            type="button"
            className="link"
            onClick={() => {
              stop();
              onSignOut(null);
            }}
            aria-label={t('room.changeNickname')}
          >
            {t('room.change')}
          </button>
        </div>
        {compact ? null : <LanguageSwitch />}
      </header>

      <main className={`room ${call?.phase === 'matched' ? 'in-call' : 'out-of-call'}${textMode ? ' text-mode' : ''}`} id="room" tabIndex={-1}>
        <div className="call-column">
          {textMode ? (
            <div className="text-partner" data-testid="text-stage">
              {call?.phase === 'matched' ? (
                <>
                  <span className="partner-label">{t('stage.chattingWith')}</span> <strong data-testid="partner-name" dir="auto">{call.partnerName}</strong>
                  <CommonGround interests={call.commonInterests} languages={call.commonLanguages} />
                </>
              ) : (
                <span className="partner-label">{call?.phase === 'searching' ? t('stage.textSearching') : t('stage.textIdle')}</span>
              )}
            </div>
          ) : (
            <Stage
              call={call}
              cam={camState}
              onFirstFrame={(id) => controller?.reportFirstFrame(id)}
              onSwipeNext={() => controller?.next()}
              partnerMedia={state?.partnerMedia ?? null}
              safe={{
                veiled: !veilState.revealed,
                flagged: veilState.flagged,
                onReveal: () => dispatchVeil({ type: 'reveal' }),
                onReportNudity: () => {
                  if (!controller?.report('nudity', '', callSeq)) setNotSent(t('report.notSentNewPartner'));
                },
                onVerdict: (v) => dispatchVeil({ type: 'verdict', nudity: v.nudity }),
              }}
            />
          )}

          {needsCamera ? (
            <div className="notice camera-required" data-testid="camera-required" role="alert">
              <p>{videoBlocker(camState)}</p>
              <button type="button" className="btn" data-testid="use-text-mode" onClick={() => change({ mode: 'text' })}>
                {t('stage.useText')}
              </button>
            </div>
          ) : null}

          {notice ? (
            <p className="notice" data-testid="notice" role="status">
              {notice}
            </p>
          ) : null}

          {/* between calls, for a few minutes: the last partner, to report or block */}
          {call?.phase !== 'matched' && moderationTarget?.endedAt != null ? (
            <LastCall
              name={moderationTarget.name}
              onReport={() => setReportFor(moderationTarget)}
              onBlock={() => controller?.block(moderationTarget.callSeq)}
            />
          ) : null}

          {/* between calls only: mounted, it asks the server now and then (useOnline) */}
          {call?.phase !== 'matched' ? <OnlineCount /> : null}

          <CallControls
            state={state}
            cam={camState}
            actions={{
              start: () => void start(),
              next: () => controller?.next(),
              stop,
              setMic: (on) => camera.setMic(on),
              setCamera: (on) => camera.setCamera(on),
            }}
            mode={mode}
            options={compact ? null : searchOptions}
            extra={sheet === 'none' ? null : <SheetButton label={sheetTitle} onOpen={() => setSheetOpen(true)} />}
          />
        </div>

        <ChatPanel
          chat={state?.chat ?? NO_CHAT}
          disabled={!state?.socketConnected}
          onSend={(text) => controller?.sendChat(text) ?? { ok: false, error: t('chat.notConnected') }}
          onInput={(value) => controller?.chatInput(value)}
          onBlur={() => controller?.chatBlur()}
          moderationTarget={moderationTarget?.name ?? null}
          onReport={() => moderationTarget && setReportFor(moderationTarget)}
          onBlock={() => controller?.block()}
        />

        {compact ? (
          // in a call on a phone: front / back in one tap, over the video
          sheet === 'devices' ? <FlipButton devices={devices} className="btn small flip-float" /> : null
        ) : (
          <>
            {interests}
            <div className="room-options">
              <DevicePicker devices={devices} />
              <SettingsPanel choices={choices} change={change} />
            </div>
          </>
        )}
      </main>

      {compact && sheet !== 'none' ? (
        <SettingsSheet open={sheetOpen} title={sheetTitle} onClose={() => setSheetOpen(false)}>
          {sheet === 'devices' ? (
            <DevicePicker devices={devices} flip={false} />
          ) : (
            <>
              {interests}
              {searchOptions}
              <DevicePicker devices={devices} />
              <SettingsPanel choices={choices} change={change} open />
              <div className="sheet-language">
                <span aria-hidden="true">{t('language.label')}</span>
                <LanguageSwitch />
              </div>
            </>
          )}
        </SettingsSheet>
      ) : null}

      {reportFor ? (
        <ReportDialog
          target={reportFor.name}
          ended={call?.phase !== 'matched' || call.callSeq !== reportFor.callSeq}
          onClose={() => setReportFor(null)}
          onSubmit={(reason, note, picture) => {
            if (!controller?.report(reason, note, reportFor.callSeq, picture)) setNotSent(t('report.notSentGone', { name: reportFor.name }));
            setReportFor(null);
          }}
        />
      ) : null}

      <Toasts items={toasts} />
    </>
  );
}
