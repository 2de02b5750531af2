import { useState, type FormEvent } from 'react';

export function JoinForm({ onJoin, busy }: { onJoin: (nickname: string) => void; busy: boolean }) {
  const [nickname, setNickname] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onJoin(nickname);
  };
  return (
    <form className="card join" onSubmit={submit} aria-label="Join">
      <h1>Talk to a stranger</h1>
      <p className="muted">Pick a nickname, allow your camera and microphone, and press Start. Press Next to meet someone else.</p>
      <label htmlFor="nickname">Nickname</label>
      <input
        id="nickname"
        data-testid="nickname"
        value={nickname}
        onChange={(e) => setNickname(e.target.value)}
        maxLength={64}
        autoComplete="nickname"
        autoFocus
        required
        placeholder="e.g. Sam"
      />
      <button type="submit" className="btn primary" data-testid="join" disabled={busy} aria-label="Join with this nickname">
        {busy ? 'Joining…' : 'Join'}
      </button>
    </form>
  );
}
