import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, whenSignedOut } from './api';
import type { Me } from './types';
import { SignIn } from './SignIn';
import { Reports } from './Reports';
import { Bans } from './Bans';
import { Now } from './Now';
import { Audit } from './Audit';
import { Accounts } from './Accounts';

type Section = 'reports' | 'bans' | 'now' | 'audit' | 'accounts';

// The console as one value: still asking, signed out (with why), or signed in.
type SessionState =
  | { kind: 'loading' }
  | { kind: 'signed-out'; notice: string | null }
  | { kind: 'signed-in'; me: Me };

const SECTIONS: readonly { id: Section; label: string; adminOnly: boolean }[] = [
  { id: 'reports', label: 'Reports', adminOnly: false },
  { id: 'bans', label: 'Bans', adminOnly: false },
  { id: 'now', label: 'Now', adminOnly: false },
  { id: 'audit', label: 'Audit log', adminOnly: false },
  { id: 'accounts', label: 'Accounts', adminOnly: true },
];

export function Console() {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const [section, setSection] = useState<Section>('reports');

  useEffect(() => {
    whenSignedOut(() =>
      setState({ kind: 'signed-out', notice: 'Your session has ended; sign in again.' }),
    );
    api
      .get<Me>('/api/console/session')
      .then((me) => setState({ kind: 'signed-in', me }))
      .catch((err: unknown) => {
        const notice = err instanceof ApiError && err.status === 401 ? null : String(err);
        setState({ kind: 'signed-out', notice });
      });
    return () => whenSignedOut(null);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.del('/api/console/session');
    } finally {
      setState({ kind: 'signed-out', notice: 'Signed out.' });
      setSection('reports');
    }
  }, []);

  if (state.kind === 'loading') {
    return (
      <main className="console-center">
        <p role="status">Loading…</p>
      </main>
    );
  }
  if (state.kind === 'signed-out') {
    return (
      <SignIn notice={state.notice} onSignedIn={(me) => setState({ kind: 'signed-in', me })} />
    );
  }
  const { me } = state;
  const visible = SECTIONS.filter((s) => !s.adminOnly || me.canManageAccounts);
  return (
    <div className="console">
      <header className="console-top">
        <p className="console-brand">
          randomchat<span className="brand-tail"> · moderation</span>
        </p>
        <nav aria-label="Console sections" className="console-nav">
          {visible.map((s) => (
            <button
              key={s.id}
              type="button"
              className="tab"
              data-testid={`tab-${s.id}`}
              aria-current={section === s.id ? 'page' : undefined}
              onClick={() => setSection(s.id)}
            >
              {s.label}
            </button>
          ))}
        </nav>
        <p className="console-who" data-testid="signed-in-as">
          {me.name} <span className="role">({me.role})</span>
        </p>
        <button type="button" className="btn small" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main className="console-main">
        {section === 'reports' && <Reports me={me} />}
        {section === 'bans' && <Bans />}
        {section === 'now' && <Now />}
        {section === 'audit' && <Audit />}
        {section === 'accounts' && me.canManageAccounts && <Accounts me={me} />}
      </main>
    </div>
  );
}
