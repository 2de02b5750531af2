import { useEffect, useRef, useState, type FormEvent } from 'react';
import { fetchRules, paragraphs, readParagraph, wasAccepted, type Rules } from '../lib/rules';
import './safety.css';
import { useT } from '../i18n';

export interface JoinProgress {
  /** proof of work running: share done (0..1), or null while it has no known end */
  pow?: number | null;
}

/**
 * The first screen: the operator's rules with the age confirmation (the gate
 * before the first search), and the nickname unless the operator turned
 * nicknames off. Join sends the accepted rules version with the session.
 */
export function JoinForm({
  onJoin,
  busy,
  progress,
  nameError,
}: {
  onJoin: (nickname: string, rules: Rules) => void;
  busy: boolean;
  progress?: JoinProgress;
  /** the server refused the nickname (name-refused): shown at the field */
  nameError?: string | null;
}) {
  const t = useT();
  const [nickname, setNickname] = useState('');
  const [rules, setRules] = useState<Rules | null>(null);
  const [rulesError, setRulesError] = useState<string | null>(null);
  const [accepted, setAccepted] = useState(false);
  const [gateError, setGateError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const acceptRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let live = true;
    setRulesError(null);
    fetchRules().then(
      (r) => {
        if (!live) return;
        setRules(r);
        setAccepted(wasAccepted(window.localStorage, r.version));
      },
      (err: Error) => live && setRulesError(err.message),
    );
    return () => {
      live = false;
    };
  }, [attempt]);

  useEffect(() => {
    if (nameError) nameRef.current?.focus();
  }, [nameError]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!rules) return;
    if (!accepted) {
      setGateError(t('join.acceptRequired', { age: rules.minimumAge }));
      acceptRef.current?.focus();
      return;
    }
    setGateError(null);
    onJoin(nickname, rules);
  };

  const pow = progress?.pow;
  return (
    <form className="card join" onSubmit={submit} aria-label={t('join.form')}>
      <h1>{t('join.title')}</h1>
      <p className="muted">{t('join.intro')}</p>

      <section className="rules" aria-labelledby="rules-title" data-testid="rules">
        <h2 id="rules-title">{t('join.rules')}</h2>
        {rules ? (
          // focusable so that keyboard users can scroll a long text
          <div className="rules-text" tabIndex={0} role="region" aria-label={t('join.rulesText')} data-testid="rules-text" data-version={rules.version}>
            {paragraphs(rules.text).map(readParagraph).map((p, i) => (
              <p key={i} dir="auto" className={p.heading ? 'rules-heading' : undefined}>
                {p.runs.map((r, j) => (r.strong ? <strong key={j}>{r.text}</strong> : r.text))}
              </p>
            ))}
          </div>
        ) : rulesError ? (
          <p className="field-error" role="alert">
            {rulesError}{' '}
            <button type="button" className="link" data-testid="rules-retry" onClick={() => setAttempt((n) => n + 1)}>
              {t('join.tryAgain')}
            </button>
          </p>
        ) : (
          <p className="muted" role="status">
            {t('join.loadingRules')}
          </p>
        )}
      </section>

      {rules?.nicknames !== false ? (
        <>
          <label htmlFor="nickname">{t('join.nickname')}</label>
          <input
            id="nickname"
            ref={nameRef}
            data-testid="nickname"
            value={nickname}
            onChange={(e) => setNickname(e.target.value)}
            maxLength={64}
            autoComplete="nickname"
            autoFocus
            required
            placeholder={t('join.nicknamePlaceholder')}
            aria-invalid={nameError ? true : undefined}
            aria-describedby={nameError ? 'nickname-error' : undefined}
          />
          {nameError ? (
            <p id="nickname-error" className="field-help field-error" data-testid="name-refused" role="alert">
              {nameError}
            </p>
          ) : null}
        </>
      ) : (
        <p className="field-help" data-testid="nicknames-off">
          {t('join.nicknamesOff')}
        </p>
      )}

      <label className="check gate">
        <input
          ref={acceptRef}
          type="checkbox"
          data-testid="rules-accept"
          checked={accepted}
          disabled={!rules}
          onChange={(e) => {
            setAccepted(e.target.checked);
            if (e.target.checked) setGateError(null);
          }}
          aria-describedby={gateError ? 'gate-error' : undefined}
        />
        {t('join.accept', { age: rules?.minimumAge ?? 18 })}
      </label>
      {gateError ? (
        <p id="gate-error" className="field-help field-error" data-testid="rules-required" role="alert">
          {gateError}
        </p>
      ) : null}

      {pow !== undefined ? (
        <div className="pow" role="status" data-testid="pow-progress">
          <span>
            {t('join.pow')}
            {pow !== null ? ` ${Math.round(pow * 100)} %` : ''}
          </span>
          <progress max={1} value={pow ?? undefined} aria-label={t('join.powProgress')} />
        </div>
      ) : null}

      <button type="submit" className="btn primary" data-testid="join" disabled={busy || !rules} aria-label={rules?.nicknames === false ? t('join.join') : t('join.joinWithNickname')}>
        {busy ? t('join.joining') : t('join.join')}
      </button>
    </form>
  );
}
