import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, api } from './api';
import { when } from './format';
import type { Account, Me, Role } from './types';

export function Accounts({ me }: { me: Me }) {
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('moderator');
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      setAccounts((await api.get<{ accounts: Account[] }>('/api/console/accounts')).accounts);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function add(event: FormEvent) {
    event.preventDefault();
    setError('');
    try {
      await api.post('/api/console/accounts', { name, role, password });
      setMessage(`Added ${name} (${role})`);
      setName('');
      setPassword('');
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }

  async function remove(account: Account) {
    if (!window.confirm(`Remove the account ${account.name}?`)) return;
    setError('');
    try {
      await api.del(`/api/console/accounts/${encodeURIComponent(account.name)}`);
      setMessage(`Removed ${account.name}`);
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }

  return (
    <section aria-labelledby="accounts-title">
      <h1 id="accounts-title">Accounts</h1>
      <p role="status" className="message">
        {message}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table className="table" data-testid="accounts-table">
        <caption className="visually-hidden">Console accounts</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.name}>
              <td data-label="Name">{a.name}</td>
              <td data-label="Role">{a.role}</td>
              <td data-label="Created">{when(a.createdAt)}</td>
              <td data-label="Action">
                <button type="button" className="btn small" disabled={a.name === me.name} onClick={() => void remove(a)}>
                  Remove {a.name}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline-form" aria-label="Add an account" onSubmit={(e) => void add(e)}>
        <label>
          Name{' '}
          <input required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role{' '}
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="moderator">moderator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Password{' '}
          <input type="password" autoComplete="new-password" required minLength={10} maxLength={1024} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="btn primary">
          Add account
        </button>
      </form>
    </section>
  );
}
