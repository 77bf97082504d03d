// The room's text chat (LiveKit's chat messages).
import { useChat } from '@livekit/components-react';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ChatLine } from '../api';

/** `onLines` gets the chat as shown here, each time it changes (a report attaches it). */
export function Chat({ onLines }: { onLines?: (lines: ChatLine[]) => void }) {
  const { chatMessages, send, isSending } = useChat();
  useEffect(() => {
    onLines?.(
      chatMessages.map((m) => ({
        from: m.from?.isLocal ? 'You' : m.from?.name || 'Partner',
        text: m.message,
        at: m.timestamp,
      })),
    );
  }, [chatMessages, onLines]);
  const [text, setText] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [chatMessages.length]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const msg = text.trim();
    if (!msg) return;
    try {
      await send(msg);
      setText('');
      setErr(null);
    } catch {
      setErr('Your message could not be sent. Please try again.');
    }
  }

  return (
    <section className="panel chat" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      <ol className="chat-list" ref={list} aria-live="polite" data-testid="chat">
        {chatMessages.length === 0 && <li className="muted small">Say hello in text, too.</li>}
        {chatMessages.map((m) => (
          <li key={m.id} className={m.from?.isLocal ? 'mine' : ''}>
            <span className="who">{m.from?.isLocal ? 'You' : m.from?.name || 'Partner'}</span> {m.message}
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="chat-form">
        <label className="sr-only" htmlFor="chat-input">Message</label>
        <input id="chat-input" value={text} maxLength={500} onChange={(e) => setText(e.target.value)} placeholder="Write a message" autoComplete="off" />
        <button className="btn" type="submit" disabled={isSending || !text.trim()}>
          Send
        </button>
      </form>
      {err && <p className="error small" role="alert">{err}</p>}
    </section>
  );
}

