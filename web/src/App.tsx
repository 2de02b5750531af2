import { useCallback, useState } from 'react';
import { BannedScreen } from './components/BannedScreen';
import { Brand } from './components/Brand';
import { ChatRoom } from './components/ChatRoom';
import { JoinForm } from './components/JoinForm';
import { LanguageSwitch } from './components/LanguageSwitch';
import { Toasts } from './components/Toasts';
import { fetchAndSolve } from './lib/pow';
import type { BanInfo } from './lib/protocol';
import { rememberAccepted, type Rules } from './lib/rules';
import { clearSession, createSession, loadDevice, loadSession, saveSession, SessionError, validateNickname, type Session } from './lib/session';

/** The join form until there is a session, then the room. */
export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession(window.localStorage));
  const [joinError, setJoinError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);
  // issue 15: the proof of work while it runs, a refused nickname, a ban from POST /api/session
  const [pow, setPow] = useState<number | null | undefined>(undefined);
  const [nameError, setNameError] = useState<string | null>(null);
  const [sessionBan, setSessionBan] = useState<BanInfo | null>(null);
  // bumped when the rules changed under the form: it loads them again
  const [rulesEpoch, setRulesEpoch] = useState(0);
  // bumped to open a fresh connection (e.g. after a ban ran out)
  const [attempt, setAttempt] = useState(0);

  const join = async (nickname: string, rules: Rules) => {
    // nicknames off: the server shows everyone as "Stranger" whatever we send
    const name = rules.nicknames ? nickname : 'Stranger';
    const invalid = validateNickname(name);
    if (invalid) return setJoinError(invalid);
    rememberAccepted(window.localStorage, rules.version);
    setJoining(true);
    setJoinError(null);
    setNameError(null);
    try {
      const s = await createSession(name, fetch, { rulesVersion: rules.version, solvePow: () => fetchAndSolve(setPow), device: loadDevice(window.localStorage) });
      saveSession(window.localStorage, s);
      setSession(s);
    } catch (err) {
      const code = err instanceof SessionError ? err.code : null;
      if (code === 'banned' && err instanceof SessionError && err.ban) setSessionBan(err.ban);
      else if (code === 'name-refused') setNameError((err as Error).message);
      else {
        if (code === 'rules-not-accepted') setRulesEpoch((n) => n + 1); // read (and accept) the new text
        setJoinError((err as Error).message);
      }
    } finally {
      setJoining(false);
      setPow(undefined);
    }
  };

  const signOut = useCallback((reason: string | null) => {
    clearSession(window.localStorage);
    setSession(null);
    setJoinError(reason);
  }, []);

  return (
    <div className="app">
      {sessionBan && !session ? (
        <>
          <header className="topbar">
            <Brand />
            <LanguageSwitch />
          </header>
          <BannedScreen ban={sessionBan} onRetry={() => setSessionBan(null)} />
        </>
      ) : session ? (
        <ChatRoom key={`${session.token}#${attempt}`} session={session} onSignOut={signOut} onReconnect={() => setAttempt((n) => n + 1)} />
      ) : (
        <>
          <header className="topbar">
            <Brand />
            <LanguageSwitch />
          </header>
          <main className="join-page">
            <JoinForm key={rulesEpoch} onJoin={(nickname, rules) => void join(nickname, rules)} busy={joining} progress={{ pow }} nameError={nameError} />
          </main>
          <Toasts items={joinError ? [{ id: 'join', kind: 'error', message: joinError }] : []} onDismiss={() => setJoinError(null)} />
        </>
      )}
    </div>
  );
}
