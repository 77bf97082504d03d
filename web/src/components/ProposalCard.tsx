import { useEffect, useRef, useState } from 'react';
import type { Topic } from '../api';
import { formatTitle } from '../formats';
import type { Proposal } from '../lobbyProtocol';
import { useNow } from '../time';

/** The partner the lobby found, the topic and side, and the time left to accept or decline. */
export function ProposalCard(props: {
  proposal: Proposal;
  answered: boolean | null;
  topics: Topic[] | null;
  busy: boolean;
  onRespond: (accept: boolean) => Promise<void>;
}) {
  const now = useNow(250);
  const { proposal: p } = props;
  const topic = props.topics?.find((t) => t.slug === p.topic);
  const left = Math.max(0, (p.expires_at - now) / 1000);
  const [total] = useState(() => Math.max(1, (p.expires_at - Date.now()) / 1000));
  const acceptRef = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptRef.current?.focus(), [p.match_id]);
  return (
    <section className="card proposal" aria-labelledby="proposal-title" role="alertdialog" aria-describedby="proposal-desc" data-testid="proposal">
      <h1 id="proposal-title">We found you a partner</h1>
      <div id="proposal-desc">
        <p className="partner-big" data-testid="proposal-partner">{p.partner.display_name}</p>
        <p>
          {topic?.title ?? p.topic} · {formatTitle(p.format)}
          {p.side && (
            <>
              {' · you argue '}
              <strong className={`side-${p.side}`}>{p.side === 'pro' ? 'for (pro)' : 'against (con)'}</strong>
            </>
          )}
        </p>
        {p.side && topic?.motion && (
          <p className="motion" data-testid="motion">
            <span className="label">Motion</span> {topic.motion}
          </p>
        )}
      </div>
      <div className="countdown" aria-live="off">
        <div className="bar" style={{ width: `${Math.min(100, (left / total) * 100)}%` }} />
        <span data-testid="proposal-countdown">{Math.ceil(left)} s to answer</span>
      </div>
      {props.answered === true ? (
        <p role="status" className="notice">You accepted. Waiting for {p.partner.display_name}…</p>
      ) : (
        <div className="row">
          <button ref={acceptRef} type="button" className="btn btn-primary" disabled={props.busy || props.answered !== null} onClick={() => void props.onRespond(true)}>
            Accept
          </button>
          <button type="button" className="btn" disabled={props.busy || props.answered !== null} onClick={() => void props.onRespond(false)}>
            Decline
          </button>
        </div>
      )}
    </section>
  );
}
