import { useEffect, useState, useSyncExternalStore } from 'react';
import { io } from 'socket.io-client';
import { CallController, type RoomState } from '../lib/callController';
import type { LocalCamera } from '../lib/camera';
import type { Choices } from '../lib/choices';
import { browserNotifier } from '../lib/notifications';
import { attachPage, testDropIce } from '../lib/recovery';
import { peerRegistry } from '../lib/runtime';

const NO_SUBSCRIPTION = () => () => {};

/**
 * The socket and the call controller, one pair per token: created when the
 * room opens, disposed (socket closed, call ended) when it closes.
 * `onRefused` runs when the server refuses the token for good. `choices` reads
 * the user's current choices (usePersistentChoices): each search sends them,
 * and each new call takes its connect timeout from them.
 */
export function useCallController(
  token: string,
  camera: LocalCamera,
  onRefused: (message: string) => void,
  choices: () => Choices,
): { controller: CallController | null; state: RoomState | null } {
  const [controller, setController] = useState<CallController | null>(null);

  useEffect(() => {
    const socket = io(window.location.origin + '/random-chat', { transports: ['websocket'], auth: { token, recover: true } });
    const notifier = browserNotifier(window, () => choices().notify);
    const ctrl = new CallController({
      socket,
      createPeerConnection: peerRegistry.wrap((config) => new RTCPeerConnection(config)),
      getLocalStream: () => camera.stream,
      onRefused,
      onMatch: (name) => notifier.match(name),
      connectTimeoutMs: () => choices().connectTimeout * 1000,
      dropCandidates: testDropIce(window),
      choices,
      log: (...args) => console.debug('[randomchat]', ...args),
    });
    setController(ctrl);
    const detachPage = attachPage(window, socket, () => notifier.prime());
    return () => {
      detachPage();
      notifier.dispose();
      ctrl.dispose();
      socket.removeAllListeners();
      socket.disconnect();
      setController(null);
    };
  }, [token, camera, onRefused, choices]);

  const state = useSyncExternalStore(
    controller ? (cb) => controller.subscribe(cb) : NO_SUBSCRIPTION,
    () => (controller ? controller.getState() : null),
  );
  return { controller, state };
}
