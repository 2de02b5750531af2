import { useState, type FormEvent } from 'react';
import { ApiError, api } from './api';
import type { Me } from './types';

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (me: Me) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.post<Me>('/api/console/session', { name, password }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The server cannot be reached');
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="console-center">
      <form className="signin" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">Moderation console</h1>
        <p className="muted">
          Sign in with a console account (made with <code>randomchat admin add NAME</code>).
        </p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label htmlFor="signin-name">Name</label>
        <input
          id="signin-name"
          data-testid="signin-name"
          autoComplete="username"
          required
          maxLength={64}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor="signin-password">Password</label>
        <input
          id="signin-password"
          data-testid="signin-password"
          type="password"
          autoComplete="current-password"
          required
          maxLength={1024}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button className="btn primary" data-testid="signin-submit" type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p className="error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
