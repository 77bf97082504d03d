import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { allowNotifications, notificationChoice, primeSound, refuseNotifications, useProposalAlert, type ProposalAlert } from '../alerts';
import { api, errorText, type Topic } from '../api';
import { formatTitle, isDebate } from '../formats';
import { useLobby } from '../lobby';
import { MediaCheck } from '../components/MediaCheck';
import { ProposalCard } from '../components/ProposalCard';
import type { FormatInfo, Proposal, RoomPass, SideChoice, Ticket } from '../lobbyProtocol';
import { useSession } from '../session';
import { clock, useNow } from '../time';
import { Summary, type TalkResult } from './Summary';
import { LazyTalk } from './LazyTalk';
import type { TalkInfo } from './Talk';

type Choice = { topic: string; format: string; side: SideChoice | null };

/** The talk a room pass leads to, described from the match (or, after a reload without one,
 * from what this page last asked for). */
function talkInfo(pass: RoomPass, p: Proposal | null, topics: Topic[] | null, choice: Choice | null): TalkInfo {
  const topicSlug = p?.topic ?? choice?.topic ?? '';
  const topic = topics?.find((t) => t.slug === topicSlug) ?? null;
  return {
    matchId: p?.match_id ?? null,
    pass,
    partnerName: p?.partner.display_name ?? 'Your partner',
    topic: topic ?? { slug: topicSlug, title: topicSlug, description: '', motion: '' },
    format: p?.format ?? choice?.format ?? 'casual',
    side: p?.side ?? null,
  };
}

export function LobbyPage() {
  const { session, logout } = useSession();
  const [topics, setTopics] = useState<Topic[] | null>(null);
  const [topicsError, setTopicsError] = useState<string | null>(null);
  const [result, setResult] = useState<TalkResult | null>(null);
  const onAuthLost = useCallback(() => logout('Your session has ended. Please log in again.'), [logout]);
  // The lobby's status names the room of a started talk (also after a reload, which so goes
  // straight back in). A room this page has left is not entered again by itself: the person
  // may go back with a button while the lobby still holds the seat.
  const [left, setLeft] = useState<ReadonlySet<string>>(() => new Set());
  const lobby = useLobby(session.token, left, onAuthLost);
  const [choice, setChoice] = useState<Choice | null>(null);
  // "Next talk" from a summary: queued as soon as the lobby connection is back.
  const [pendingNext, setPendingNext] = useState<Choice | null>(null);

  useEffect(() => {
    api
      .topics()
      .then((d) => setTopics(d.topics))
      .catch((e: unknown) => setTopicsError(errorText(e)));
  }, []);

  const { stage } = lobby;
  const pass = stage.kind === 'room' ? stage.pass : null;
  const proposal = stage.kind === 'room' ? stage.proposal : null;
  const away = pass !== null && left.has(pass.name);
  const talk = useMemo(
    () => (pass && !away ? talkInfo(pass, proposal, topics, choice) : null),
    [pass, proposal, away, topics, choice],
  );
  const proposed = stage.kind === 'proposed' && stage.answered === null ? stage.proposal : null;
  const alert: ProposalAlert | null = useMemo(() => {
    if (!proposed) return null;
    const topic = topics?.find((t) => t.slug === proposed.topic)?.title ?? proposed.topic;
    return { matchId: proposed.match_id, expiresAt: proposed.expires_at, body: `${proposed.partner.display_name} · ${topic}` };
  }, [proposed, topics]);
  useProposalAlert(alert);

  const { join, agentPresent, busy } = lobby;
  useEffect(() => {
    if (!pendingNext || !agentPresent || busy) return;
    if (stage.kind !== 'choose' && !(stage.kind === 'room' && away)) return;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- a one-shot request this effect carries out
    setPendingNext(null);
    void join(pendingNext.topic, pendingNext.format, pendingNext.side);
  }, [pendingNext, agentPresent, busy, stage, away, join]);

  const goBack = (name: string) =>
    setLeft((s) => {
      const next = new Set(s);
      next.delete(name);
      return next;
    });

  if (talk) {
    return (
      <LazyTalk
        info={talk}
        onEnded={(r) => {
          setLeft((s) => new Set(s).add(r.info.pass.name));
          setResult(r);
        }}
      />
    );
  }

  return (
    <div className="lobby">
      {result && (
        <Summary
          result={result}
          onClose={() => setResult(null)}
          onNext={
            result.info.moderator
              ? undefined
              : () => {
                  const info = result.info;
                  primeSound();
                  setPendingNext(choice ?? { topic: info.topic.slug, format: info.format, side: info.side });
                  setResult(null);
                }
          }
        />
      )}
      {!result && (
        <>
          {lobby.notice && (
            <div className="notice banner" role="status" data-testid="lobby-notice">
              <span>{lobby.notice}</span>
              <button type="button" className="btn btn-ghost btn-small" onClick={lobby.clearNotice} aria-label="Dismiss">
                ✕
              </button>
            </div>
          )}
          {lobby.reconnecting && <p className="notice banner" role="status">Reconnecting to the lobby…</p>}
          {lobby.error && <p className="error banner" role="alert">{lobby.error}</p>}
          <div className="lobby-grid">
            <div className="lobby-main">
              {stage.kind === 'connecting' && (
                <section className="card" aria-busy="true">
                  <h1>Lobby</h1>
                  <p className="muted" role="status">Connecting to the lobby…</p>
                </section>
              )}
              {stage.kind === 'offline' && (
                <section className="card">
                  <h1>Lobby</h1>
                  <p className="error" role="alert">{stage.message}</p>
                  <button type="button" className="btn btn-primary" onClick={lobby.reconnect}>
                    Try again
                  </button>
                </section>
              )}
              {stage.kind === 'choose' && (
                <ChooseForm
                  topics={topics}
                  topicsError={topicsError}
                  formats={lobby.formats}
                  busy={lobby.busy}
                  agentPresent={lobby.agentPresent}
                  initial={choice}
                  onJoin={(topic, format, side) => {
                    primeSound();
                    setChoice({ topic, format, side });
                    return lobby.join(topic, format, side);
                  }}
                />
              )}
              {stage.kind === 'waiting' && (
                <Waiting
                  ticket={stage.ticket}
                  since={stage.since}
                  receivedAt={stage.receivedAt}
                  topics={topics}
                  busy={lobby.busy}
                  onLeave={lobby.leave}
                />
              )}
              {stage.kind === 'proposed' && (
                <ProposalCard
                  proposal={stage.proposal}
                  answered={stage.answered}
                  topics={topics}
                  busy={lobby.busy}
                  onRespond={lobby.respond}
                />
              )}
              {stage.kind === 'room' && !away && (
                <section className="card">
                  <p role="status">Opening your room…</p>
                </section>
              )}
              {stage.kind === 'room' && away && (
                <section className="card" data-testid="talk-open">
                  <h1>Your talk is still open</h1>
                  <p className="muted">Your seat is kept for a short while.</p>
                  <button type="button" className="btn btn-primary" onClick={() => goBack(stage.pass.name)}>
                    Go back to your talk
                  </button>
                </section>
              )}
            </div>
            <aside className="lobby-side" aria-label="Camera and microphone check">
              <MediaCheck />
            </aside>
          </div>
        </>
      )}
    </div>
  );
}

function ChooseForm(props: {
  topics: Topic[] | null;
  topicsError: string | null;
  formats: FormatInfo[];
  busy: boolean;
  agentPresent: boolean;
  initial: { topic: string; format: string; side: SideChoice | null } | null;
  onJoin: (topic: string, format: string, side: SideChoice | null) => Promise<void>;
}) {
  const { topics, formats } = props;
  const [picked, setTopic] = useState(props.initial?.topic ?? '');
  // Until a topic is picked, the first one listed.
  const topic = picked || topics?.[0]?.slug || '';
  const [format, setFormat] = useState(props.initial?.format ?? 'casual');
  const [side, setSide] = useState<SideChoice>(props.initial?.side ?? 'any');
  const debate = isDebate(format, formats);
  const selected = topics?.find((t) => t.slug === topic);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!topic) return;
    void props.onJoin(topic, format, debate ? side : null);
  }

  return (
    <section className="card" aria-labelledby="choose-title">
      <h1 id="choose-title">What do you want to talk about?</h1>
      {props.topicsError && <p className="error" role="alert">{props.topicsError}</p>}
      {!topics && !props.topicsError && <p className="muted" role="status">Loading topics…</p>}
      {topics && (
        <form onSubmit={submit}>
          <label>
            Topic
            <select value={topic} onChange={(e) => setTopic(e.target.value)} required data-testid="topic">
              {topics.map((t) => (
                <option key={t.slug} value={t.slug}>
                  {t.title}
                </option>
              ))}
            </select>
          </label>
          {selected && (
            <div className="topic-info">
              <p>{selected.description}</p>
              {debate && selected.motion && (
                <p className="motion" data-testid="motion">
                  <span className="label">Motion</span> {selected.motion}
                </p>
              )}
            </div>
          )}
          <fieldset className="choices">
            <legend>Format</legend>
            {formats.map((f) => (
              <label key={f.id} className={`choice ${format === f.id ? 'on' : ''}`}>
                <input type="radio" name="format" value={f.id} checked={format === f.id} onChange={() => setFormat(f.id)} />
                <span>{f.title}</span>
              </label>
            ))}
          </fieldset>
          {debate && (
            <fieldset className="choices">
              <legend>Your side</legend>
              {(['pro', 'con', 'any'] as const).map((s) => (
                <label key={s} className={`choice ${side === s ? 'on' : ''}`}>
                  <input type="radio" name="side" value={s} checked={side === s} onChange={() => setSide(s)} />
                  <span>{s === 'pro' ? 'For (pro)' : s === 'con' ? 'Against (con)' : 'Either side'}</span>
                </label>
              ))}
            </fieldset>
          )}
          <button className="btn btn-primary btn-wide" type="submit" disabled={props.busy || !topic}>
            {props.busy ? 'Joining…' : 'Find a partner'}
          </button>
          {!props.agentPresent && (
            <p className="small muted" role="status">
              The matchmaker is starting; your request waits for it a few seconds.
            </p>
          )}
        </form>
      )}
    </section>
  );
}

function Waiting(props: {
  ticket: Ticket;
  since: number;
  receivedAt: number;
  topics: Topic[] | null;
  busy: boolean;
  onLeave: () => Promise<void>;
}) {
  const now = useNow(500);
  const { ticket } = props;
  const topic = props.topics?.find((t) => t.slug === ticket.topic);
  const left = ticket.estimated_wait - (now - props.receivedAt) / 1000;
  return (
    <section className="card waiting" aria-labelledby="waiting-title" data-testid="waiting">
      <h1 id="waiting-title">
        <span className="pulse" aria-hidden="true" /> Looking for a partner
      </h1>
      <p className="muted">
        {topic?.title ?? ticket.topic} · {formatTitle(ticket.format)}
        {ticket.side && ticket.side !== 'any' ? ` · ${ticket.side}` : ''}
      </p>
      <dl className="stats">
        <div>
          <dt>Your place</dt>
          <dd data-testid="position">{ticket.position + 1}</dd>
        </div>
        <div>
          <dt>Waiting here</dt>
          <dd data-testid="waiting-count">{ticket.waiting}</dd>
        </div>
        <div>
          <dt>Estimated wait</dt>
          <dd data-testid="estimate" aria-live="off">
            {left > 0 ? clock(left) : 'any moment'}
          </dd>
        </div>
      </dl>
      <p className="muted small">You have waited {clock((now - props.since) / 1000)}.</p>
      <NotifyPrompt />
      <button type="button" className="btn" onClick={() => void props.onLeave()} disabled={props.busy}>
        Leave the queue
      </button>
    </section>
  );
}

/** Asked once, when the person first queues: a notification when a partner is found while the
 * tab is hidden. "No thanks" is remembered. */
function NotifyPrompt() {
  const [choice, setChoice] = useState(notificationChoice);
  if (choice !== 'ask') return null;
  return (
    <div className="notice small" role="group" aria-label="Notifications" data-testid="notify-prompt">
      <p>Get a notification when we find you a partner while this tab is in the background?</p>
      <div className="row">
        <button type="button" className="btn btn-small" onClick={() => void allowNotifications().then(setChoice)}>
          Allow notifications
        </button>
        <button
          type="button"
          className="btn btn-small btn-ghost"
          onClick={() => {
            refuseNotifications();
            setChoice('denied');
          }}
        >
          No thanks
        </button>
      </div>
    </div>
  );
}
