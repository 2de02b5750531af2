import { useState, type KeyboardEvent } from 'react';
import { addInterests, MAX_INTERESTS } from '../lib/interests';
import { useT } from '../i18n';

/**
 * Interest chips: type a tag and press Enter or a comma; × or Backspace in the
 * empty field removes one. Tags are normalised like the server does.
 */
export function InterestsInput({
  interests,
  onChange,
  strict,
  onStrictChange,
}: {
  interests: string[];
  onChange: (next: string[]) => void;
  strict: boolean;
  onStrictChange: (strict: boolean) => void;
}) {
  const t = useT();
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);

  const commit = (text: string): boolean => {
    if (!text.trim()) return true;
    const result = addInterests(interests, text);
    setError(result.error);
    if (result.interests.length !== interests.length) onChange(result.interests);
    setDraft('');
    return result.error === null;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault();
      commit(draft);
    } else if (e.key === 'Backspace' && draft === '' && interests.length > 0) {
      e.preventDefault();
      onChange(interests.slice(0, -1));
      setError(null);
    }
  };

  const full = interests.length >= MAX_INTERESTS;
  return (
    <section className="interests" aria-labelledby="interests-label">
      <label id="interests-label" htmlFor="interests-input">
        {t('interests.label')} <span className="hint">{t('interests.hint', { max: MAX_INTERESTS })}</span>
      </label>
      <div className="chips-field">
        <ul className="chips" aria-label={t('interests.yours')}>
          {interests.map((tag, i) => (
            <li key={tag} className="chip" data-testid="interest-chip">
              <span className="chip-text">{tag}</span>
              <button
                type="button"
                className="chip-remove"
                aria-label={t('interests.remove', { tag })}
                onClick={() => onChange(interests.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        <input
          id="interests-input"
          data-testid="interests"
          type="text"
          value={draft}
          placeholder={full ? t('interests.full', { max: MAX_INTERESTS }) : interests.length ? t('interests.another') : t('interests.placeholder')}
          autoComplete="off"
          enterKeyHint="done"
          aria-describedby="interests-help"
          aria-invalid={error ? true : undefined}
          onChange={(e) => {
            const value = e.target.value;
            // a pasted "a, b, c" becomes chips at once; the part after the last comma stays
            if (value.includes(',')) {
              const cut = value.lastIndexOf(',');
              commit(value.slice(0, cut));
              setDraft(value.slice(cut + 1));
            } else {
              setDraft(value);
            }
          }}
          onKeyDown={onKeyDown}
          onBlur={() => commit(draft)}
        />
      </div>
      <p id="interests-help" className={`field-help ${error ? 'field-error' : ''}`} aria-live="polite">
        {error ?? t('interests.help')}
      </p>
      <label className="check">
        <input type="checkbox" data-testid="strict" checked={strict} disabled={interests.length === 0} onChange={(e) => onStrictChange(e.target.checked)} />
        {t('interests.strict')}
      </label>
    </section>
  );
}
