import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ChatLine, ChatState } from '../lib/chat';
import { MAX_CHAT_LENGTH } from '../lib/chat';

function time(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function Line({ line, partnerName }: { line: ChatLine; partnerName: string }) {
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
        <bdi>{own ? 'You' : partnerName}</bdi>:{' '}
      </span>
      {/* dir="auto": each message takes the direction of its own first strong letter */}
      <span className="chat-text" dir="auto">
        {line.text}
      </span>
      <span className="chat-meta">
        {time(line.at)}
        {own && line.status === 'sending' ? ' · sending…' : null}
        {own && line.status === 'sent' ? <span aria-label="delivered"> · ✓</span> : null}
      </span>
      {own && line.status === 'failed' ? (
        <span className="chat-failed" role="status">
          {line.error ?? 'Not sent.'}
        </span>
      ) : null}
    </li>
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
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const logRef = useRef<HTMLOListElement | null>(null);
  const partnerName = chat.partnerName ?? 'Stranger';
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
    <aside className="chat card" aria-label="Text chat">
      <div className="chat-head">
        <h2 className="chat-title">Chat</h2>
        <div className="chat-actions">
          <button
            type="button"
            className="btn small"
            data-testid="report"
            disabled={!moderationTarget || disabled}
            onClick={onReport}
            aria-label={moderationTarget ? `Report ${moderationTarget}` : 'Report (nobody to report)'}
          >
            Report
          </button>
          <button
            type="button"
            className="btn small danger"
            data-testid="block"
            disabled={!moderationTarget || disabled}
            onClick={onBlock}
            aria-label={moderationTarget ? `Block ${moderationTarget}: never meet them again` : 'Block (nobody to block)'}
          >
            Block
          </button>
        </div>
      </div>
      {/* role="log" on a wrapper: on the <ol> itself it would take the list's role and orphan its items */}
      <div className="chat-log-frame" role="log" aria-live="polite" aria-relevant="additions" aria-label="Messages">
        <ol className="chat-log" data-testid="chat-log" ref={logRef} aria-label="Messages" tabIndex={0}>
          {chat.lines.length === 0 ? <li className="chat-line system">Messages you exchange with your partner appear here.</li> : null}
          {chat.lines.map((line) => (
            <Line key={line.key} line={line} partnerName={partnerName} />
          ))}
        </ol>
      </div>
      <div className="typing" data-testid="typing" aria-live="polite">
        {chat.open && chat.partnerTyping ? (
          <>
            <bdi>{partnerName}</bdi> is typing…
          </>
        ) : null}
      </div>
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor="chat-input" className="sr-only">
          Message
        </label>
        <input
          id="chat-input"
          data-testid="chat-input"
          type="text"
          value={draft}
          maxLength={MAX_CHAT_LENGTH}
          autoComplete="off"
          enterKeyHint="send"
          placeholder={open ? `Message ${partnerName}…` : 'Chat opens in a call'}
          disabled={!open}
          aria-describedby={error ? 'chat-error' : undefined}
          onChange={(e) => {
            setDraft(e.target.value);
            onInput(e.target.value);
          }}
          onBlur={onBlur}
        />
        <button type="submit" className="btn primary" data-testid="chat-send" disabled={!open || !draft.trim()}>
          Send
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
