import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ChatLine, ChatState } from '../lib/chat';
import { MAX_CHAT_LENGTH } from '../lib/chat';
import { language, useT } from '../i18n';

function time(at: number): string {
  return new Date(at).toLocaleTimeString(language(), { hour: '2-digit', minute: '2-digit' });
}

function Line({ line, partnerName }: { line: ChatLine; partnerName: string }) {
  const t = useT();
  if (line.kind === 'system') {
    return (
      <li className="chat-line system" data-kind="system">
        {line.text}
      </li>
    );
  }
  const own = line.kind === 'own';
  return (
    <li className={`chat-line ${own ? 'own' : 'theirs'} ${line.status ?? ''}`} data-kind={line.kind} data-status={line.status}>
      <span className="sr-only">
        <bdi>{own ? t('room.you') : partnerName}</bdi>:{' '}
      </span>
      {/* dir="auto": each message takes the direction of its own first strong letter */}
      <span className="chat-text" dir="auto">
        {line.text}
      </span>
      <span className="chat-meta">
        {time(line.at)}
        {own && line.status === 'sending' ? t('chat.sending') : null}
        {own && line.status === 'sent' ? <span aria-label={t('chat.delivered')}> · ✓</span> : null}
      </span>
      {own && line.status === 'failed' ? (
        <span className="chat-failed" role="status">
          {line.error ?? t('chat.notSent')}
        </span>
      ) : null}
    </li>
  );
}

/**
 * "<name> is typing…" in any language: the sentence is translated with a
 * marker where the name goes, and the name is put there in a <bdi> (its own
 * direction, never mixed with the sentence's).
 */
function TypingLine({ name }: { name: string }) {
  const t = useT();
  const [before, after = ''] = t('chat.typing', { name: '\u0000' }).split('\u0000');
  return (
    <>
      {before}
      <bdi>{name}</bdi>
      {after}
    </>
  );
}

export function ChatPanel({
  chat,
  onSend,
  onInput,
  onBlur,
  onReport,
  onBlock,
  moderationTarget,
  disabled,
}: {
  chat: ChatState;
  onSend: (text: string) => { ok: true } | { ok: false; error: string };
  onInput: (value: string) => void;
  onBlur: () => void;
  onReport: () => void;
  onBlock: () => void;
  moderationTarget: string | null;
  disabled: boolean;
}) {
  const t = useT();
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const logRef = useRef<HTMLOListElement | null>(null);
  const partnerName = chat.partnerName ?? t('call.stranger');
  const open = chat.open && !disabled;

  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [chat.lines]);

  useEffect(() => {
    if (!chat.open) setError(null);
  }, [chat.open]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const result = onSend(draft);
    if (result.ok) {
      setDraft('');
      setError(null);
    } else {
      setError(result.error);
    }
  };

  return (
    <aside className="chat card" aria-label={t('chat.label')}>
      <div className="chat-head">
        <h2 className="chat-title">{t('chat.title')}</h2>
        <div className="chat-actions">
          <button
            type="button"
            className="btn small"
            data-testid="report"
            disabled={!moderationTarget || disabled}
            onClick={onReport}
            aria-label={moderationTarget ? t('chat.reportLabel', { name: moderationTarget }) : t('chat.reportNobody')}
          >
            {t('chat.report')}
          </button>
          <button
            type="button"
            className="btn small danger"
            data-testid="block"
            disabled={!moderationTarget || disabled}
            onClick={onBlock}
            aria-label={moderationTarget ? t('chat.blockLabel', { name: moderationTarget }) : t('chat.blockNobody')}
          >
            {t('chat.block')}
          </button>
        </div>
      </div>
      {/* role="log" on a wrapper: on the <ol> itself it would take the list's role and orphan its items */}
      <div className="chat-log-frame" role="log" aria-live="polite" aria-relevant="additions" aria-label={t('chat.messages')}>
        <ol className="chat-log" data-testid="chat-log" ref={logRef} aria-label={t('chat.messages')} tabIndex={0}>
          {chat.lines.length === 0 ? <li className="chat-line system">{t('chat.empty')}</li> : null}
          {chat.lines.map((line) => (
            <Line key={line.key} line={line} partnerName={partnerName} />
          ))}
        </ol>
      </div>
      <div className="typing" data-testid="typing" aria-live="polite">
        {chat.open && chat.partnerTyping ? (
          <TypingLine name={partnerName} />
        ) : null}
      </div>
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor="chat-input" className="sr-only">
          {t('chat.message')}
        </label>
        <input
          id="chat-input"
          data-testid="chat-input"
          type="text"
          value={draft}
          maxLength={MAX_CHAT_LENGTH}
          autoComplete="off"
          enterKeyHint="send"
          placeholder={open ? t('chat.placeholder', { name: partnerName }) : t('chat.closed')}
          disabled={!open}
          aria-describedby={error ? 'chat-error' : undefined}
          onChange={(e) => {
            setDraft(e.target.value);
            onInput(e.target.value);
          }}
          onBlur={onBlur}
        />
        <button type="submit" className="btn primary" data-testid="chat-send" disabled={!open || !draft.trim()}>
          {t('chat.send')}
        </button>
      </form>
      {error ? (
        <p id="chat-error" className="field-help field-error" role="alert">
          {error}
        </p>
      ) : null}
    </aside>
  );
}
