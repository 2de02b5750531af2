import { useCallback, useState } from 'react';
import { Brand } from './components/Brand';
import { ChatRoom } from './components/ChatRoom';
import { JoinForm } from './components/JoinForm';
import { Toasts } from './components/Toasts';
import { clearSession, createSession, loadSession, saveSession, validateNickname, type Session } from './lib/session';

/** The join form until there is a session, then the room. */
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
