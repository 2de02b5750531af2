import { useCallback, useEffect, useState } from 'react';
import { useCallController } from '../hooks/useCallController';
import { useCamera } from '../hooks/useCamera';
import { useRememberedPreferences } from '../hooks/useRememberedPreferences';
import { useShortcuts } from '../hooks/useShortcuts';
import type { Session } from '../lib/session';
import { BannedScreen } from './BannedScreen';
import { Brand } from './Brand';
import { CallControls } from './CallControls';
import { ChatPanel } from './ChatPanel';
import { InterestsInput } from './InterestsInput';
import { ReportDialog } from './ReportDialog';
import { Stage } from './Stage';
import { StatusBar } from './StatusBar';
import { Toasts, type ToastItem } from './Toasts';

const NO_CHAT = { lines: [], open: false, partnerName: null, partnerTyping: false };

/** The page after joining: one socket, one controller and one camera for its lifetime. */
export function ChatRoom({ session, onSignOut, onReconnect }: { session: Session; onSignOut: (reason: string | null) => void; onReconnect: () => void }) {
  const { camera, camState } = useCamera();
  const { controller, state } = useCallController(session.token, camera, onSignOut);
  useRememberedPreferences(state);
  // the report dialog, with the partner and call it was opened for
  const [reportFor, setReportFor] = useState<{ name: string; callId: number } | null>(null);
  const [notSent, setNotSent] = useState<string | null>(null);
  const call = state?.call ?? null;
  const isBanned = call?.phase === 'banned';

  // Banned: the camera goes off (the banned screen replaces the room and its dialog).
  useEffect(() => {
    if (isBanned) camera.release();
  }, [isBanned, camera]);

  const start = useCallback(async () => {
    if (controller?.getState().call.phase !== 'idle') return;
    await camera.acquire(); // without a camera we still search (receive only)
    controller.start();
  }, [controller, camera]);

  const stop = useCallback(() => {
    controller?.stop();
    camera.release();
  }, [controller, camera]);

  useShortcuts(Boolean(controller) && !reportFor && !isBanned, {
    next: () => (controller?.getState().call.phase === 'idle' ? void start() : controller?.next()),
    stop,
  });

  if (call?.phase === 'banned') {
    return (
      <>
        <header className="topbar">
          <Brand />
        </header>
        <BannedScreen ban={call.ban} onRetry={onReconnect} />
      </>
    );
  }

  const toasts: ToastItem[] = [];
  if (state?.toast) toasts.push({ id: `call-${state.toast.id}`, kind: state.toast.kind, message: state.toast.message, onDismiss: () => controller?.dismissToast() });
  if (notSent) toasts.push({ id: 'not-sent', kind: 'error', message: notSent, onDismiss: () => setNotSent(null) });
  if (camState.error) toasts.push({ id: 'media', kind: 'error', message: camState.error, onDismiss: () => camera.dismissError() });
  const moderationTarget = state?.moderationTarget ?? null;
  const notice = call?.phase === 'idle' || call?.phase === 'searching' ? call.notice : null;

  return (
    <>
      <header className="topbar">
        <Brand heading />
        <StatusBar state={state} />
        <div className="who">
          <span className="who-name" title="Your nickname" dir="auto">
            {session.username ?? 'You'}
          </span>
          <button
            type="button"
            className="link"
            onClick={() => {
              stop();
              onSignOut(null);
            }}
            aria-label="Change nickname"
          >
            Change
          </button>
        </div>
      </header>

      <main className={`room ${call?.phase === 'matched' ? 'in-call' : 'out-of-call'}`} id="room" tabIndex={-1}>
        <div className="call-column">
          <Stage call={call} cam={camState} onFirstFrame={(id) => controller?.reportFirstFrame(id)} onSwipeNext={() => controller?.next()} />

          {notice ? (
            <p className="notice" data-testid="notice" role="status">
              {notice}
            </p>
          ) : null}

          <CallControls
            state={state}
            cam={camState}
            actions={{
              start: () => void start(),
              next: () => controller?.next(),
              stop,
              setMic: (on) => camera.setMic(on),
              setCamera: (on) => camera.setCamera(on),
              setAutoSearch: (on) => controller?.setAutoSearch(on),
              setPrivacy: (on) => controller?.setPrivacy(on),
            }}
          />
        </div>

        <ChatPanel
          chat={state?.chat ?? NO_CHAT}
          disabled={!state?.socketConnected}
          onSend={(text) => controller?.sendChat(text) ?? { ok: false, error: 'Not connected.' }}
          onInput={(value) => controller?.chatInput(value)}
          onBlur={() => controller?.chatBlur()}
          moderationTarget={moderationTarget?.name ?? null}
          onReport={() => moderationTarget && setReportFor(moderationTarget)}
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
