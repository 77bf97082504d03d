import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, errorText, historyEntries, type HistoryEntry } from '../api';
import { formatTitle, isDebate } from '../formats';
import { OUTCOME_SHORT } from '../text';
import { useSession } from '../session';
import { duration } from '../time';
import type { TalkInfo } from './Talk';
import { ReportFields } from '../components/ReportFields';
import { Votes } from '../components/Votes';
import { useSending } from '../hooks/useSending';

export interface TalkResult {
  info: TalkInfo;
  partnerId: string;
  partnerName: string;
  outcome: string | null;
  reason: string;
  startedAt: number;
  endedAt: number;
}

/** Finds this talk's discussion in the history (the lobby records it when both accept). */
function useDiscussion(token: string, result: TalkResult): { entry: HistoryEntry | null; error: string | null } {
  const [entry, setEntry] = useState<HistoryEntry | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let tries = 0;
    const look = async () => {
      try {
        const all = historyEntries(await api.history(token));
        const room = result.info.pass.name;
        const match_id = result.info.matchId;
        const found = all.find((h) => h.room === room || (h.match_id && h.match_id === match_id));
        if (!live) return;
        if (found) setEntry(found);
        else if (++tries < 10) setTimeout(() => void look(), 1000);
        else setError('This talk is not in your history yet, so it cannot be rated. Try again from the History page later.');
      } catch (e) {
        if (live) setError(errorText(e));
      }
    };
    void look();
    return () => {
      live = false;
    };
  }, [token, result]);
  return { entry, error };
}

export function Summary({ result, onClose, onNext }: { result: TalkResult; onClose: () => void; onNext?: () => void }) {
  const { session } = useSession();
  const { entry, error } = useDiscussion(session.token, result);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const partnerId = entry?.partner?.id || result.partnerId;
  const outcome = result.outcome ?? entry?.outcome ?? null;

  return (
    <section className="card summary" aria-labelledby="summary-title" data-testid="summary">
      <h1 id="summary-title" ref={heading} tabIndex={-1}>
        The talk has ended
      </h1>
      <p className="lead" data-testid="end-reason">{result.reason}</p>
      <dl className="stats">
        <div>
          <dt>With</dt>
          <dd>{result.partnerName}</dd>
        </div>
        <div>
          <dt>Topic</dt>
          <dd>{result.info.topic.title}</dd>
        </div>
        <div>
          <dt>Format</dt>
          <dd>{formatTitle(result.info.format)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="duration">{duration((result.endedAt - result.startedAt) / 1000)}</dd>
        </div>
        {outcome && (
          <div>
            <dt>Outcome</dt>
            <dd>{OUTCOME_SHORT[outcome] ?? outcome}</dd>
          </div>
        )}
      </dl>
      {error && <p className="error" role="alert">{error}</p>}
      {entry?.public && isDebate(result.info.format) && !result.info.moderator && <Votes discussionId={entry?.id ?? null} canVote={false} />}
      <div className="summary-grid">
        <RateForm token={session.token} discussionId={entry?.id ?? null} partnerName={result.partnerName} />
        <ReportForm token={session.token} discussionId={entry?.id ?? null} partnerId={partnerId} partnerName={result.partnerName} />
        <BlockBox token={session.token} partnerId={partnerId} partnerName={result.partnerName} />
      </div>
      <div className="row">
        {onNext && (
          <button type="button" className="btn btn-primary" onClick={onNext} data-testid="next-talk">
            Next talk
          </button>
        )}
        <button type="button" className={onNext ? 'btn' : 'btn btn-primary'} onClick={onClose} data-testid="back-to-lobby">
          Back to the lobby
        </button>
      </div>
      {onNext && <p className="small muted">Next talk queues you again for the same topic, format and side; Back to the lobby lets you change them first.</p>}
    </section>
  );
}

function RateForm({ token, discussionId, partnerName }: { token: string; discussionId: string | null; partnerName: string }) {
  const [score, setScore] = useState(0);
  const [again, setAgain] = useState(false);
  const { busy, msg, send } = useSending();
  const [done, setDone] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!discussionId || !score) return;
    await send(async () => {
      await api.rate(token, discussionId, score, again);
      setDone(true);
      return 'Thanks, your rating is saved.';
    });
  }

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="rate-title" data-testid="rate">
      <h2 id="rate-title">Rate {partnerName}</h2>
      <fieldset className="stars" disabled={done}>
        <legend className="sr-only">Score from 1 to 5</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n} className={n <= score ? 'on' : ''}>
            <input type="radio" name="score" value={n} checked={score === n} onChange={() => setScore(n)} />
            <span aria-hidden="true">★</span>
            <span className="sr-only">{n} {n === 1 ? 'star' : 'stars'}</span>
          </label>
        ))}
      </fieldset>
      <label className="check">
        <input type="checkbox" checked={again} onChange={(e) => setAgain(e.target.checked)} disabled={done} /> I would talk with them again
      </label>
      {msg && <p className={msg.ok ? 'notice small' : 'error small'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p>}
      <button className="btn btn-primary btn-small" type="submit" disabled={busy || done || !score || !discussionId}>
        Send rating
      </button>
    </form>
  );
}

function ReportForm(props: { token: string; discussionId: string | null; partnerId: string; partnerName: string }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const { busy, msg, send } = useSending();
  const [done, setDone] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!props.discussionId || !reason) return;
    const discussionId = props.discussionId;
    await send(async () => {
      await api.report(props.token, discussionId, props.partnerId, reason, note.trim());
      setDone(true);
      return 'Thank you. Our team will look at your report.';
    });
  }

  if (!open) {
    return (
      <div className="panel">
        <h2>Something wrong?</h2>
        <button type="button" className="btn btn-small" onClick={() => setOpen(true)} aria-expanded="false" data-testid="report-open">
          Report {props.partnerName}
        </button>
      </div>
    );
  }
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="report-title" data-testid="report">
      <h2 id="report-title">Report {props.partnerName}</h2>
      <ReportFields
        reason={reason}
        onReason={setReason}
        note={note}
        onNote={setNote}
        noteLabel="What happened? (optional)"
        choose
        disabled={done}
      />
      {msg && <p className={msg.ok ? 'notice small' : 'error small'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p>}
      <button className="btn btn-small" type="submit" disabled={busy || done || !reason || !props.discussionId}>
        Send report
      </button>
    </form>
  );
}

function BlockBox({ token, partnerId, partnerName }: { token: string; partnerId: string; partnerName: string }) {
  const [blocked, setBlocked] = useState(false);
  const { busy, msg, send } = useSending();

  async function toggle() {
    await send(async () => {
      if (blocked) {
        await api.unblock(token, partnerId);
        setBlocked(false);
        return `${partnerName} is no longer blocked.`;
      }
      await api.block(token, partnerId);
      setBlocked(true);
      return `${partnerName} is blocked. You will not be matched again.`;
    });
  }

  return (
    <div className="panel" data-testid="block">
      <h2>Block</h2>
      <p className="small muted">Blocked people are never matched with you again.</p>
      {msg && <p className={msg.ok ? 'notice small' : 'error small'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p>}
      <button type="button" className={`btn btn-small ${blocked ? '' : 'btn-danger'}`} onClick={() => void toggle()} disabled={busy || !partnerId}>
        {blocked ? `Unblock ${partnerName}` : `Block ${partnerName}`}
      </button>
    </div>
  );
}
