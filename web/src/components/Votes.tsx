// The audience's votes on one debate (docs/PROTOCOL.md "Audience"): what debaters see in their
// summary and what a spectator sees, with the two vote buttons for a spectator who may vote.
import { useEffect, useState } from 'react';
import { ApiError, api, errorText, type Tally } from '../api';
import { useSession } from '../session';

const REFRESH_MS = 3000;

export const WINNER_TEXT: Readonly<Record<string, string>> = {
  pro: 'The audience thinks pro (for) won.',
  con: 'The audience thinks con (against) won.',
  tie: 'The audience is split evenly.',
};

/** The tally of `discussionId`, read again every few seconds while voting may change it. */
function useTally(token: string, discussionId: string | null): [Tally | null, (t: Tally) => void] {
  const [tally, setTally] = useState<Tally | null>(null);
  useEffect(() => {
    if (!discussionId) return undefined;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      let again: boolean;
      try {
        const t = (await api.votes(token, discussionId)).votes;
        if (!live) return;
        setTally(t);
        again = t.voting_open;
      } catch (e) {
        // Not counted as a spectator yet (LiveKit tells the API a moment after the join).
        again = e instanceof ApiError && e.status === 403;
      }
      if (live && again) timer = setTimeout(() => void read(), REFRESH_MS);
    };
    void read();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [token, discussionId]);
  return [tally, setTally];
}

export function Votes({ discussionId, canVote }: { discussionId: string | null; canVote: boolean }) {
  const { session } = useSession();
  const [tally, setTally] = useTally(session.token, discussionId);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function vote(side: 'pro' | 'con') {
    if (!discussionId) return;
    setBusy(true);
    setError(null);
    try {
      setTally((await api.vote(session.token, discussionId, side)).votes);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const voted = tally?.my_vote ?? null;
  return (
    <section className="panel votes" aria-labelledby="votes-title" data-testid="votes">
      <h2 id="votes-title">The audience's vote</h2>
      {tally && (
        <p data-testid="tally">
          Pro <strong>{tally.pro}</strong> · Con <strong>{tally.con}</strong>
        </p>
      )}
      {tally?.winner && (
        <p className="lead" data-testid="audience-winner">
          {WINNER_TEXT[tally.winner]}
        </p>
      )}
      {tally && !tally.winner && <p className="muted small">Nobody has voted yet.</p>}
      {canVote && voted && (
        <p className="notice small" role="status">
          You voted for {voted === 'pro' ? 'pro (for)' : 'con (against)'}.
        </p>
      )}
      {canVote && !voted && (
        <>
          <p className="small muted">Voting opens with the last part and closes two minutes after the end.</p>
          <div className="row">
            <button type="button" className="btn side-pro" disabled={busy} onClick={() => void vote('pro')}>
              Vote pro
            </button>
            <button type="button" className="btn side-con" disabled={busy} onClick={() => void vote('con')}>
              Vote con
            </button>
          </div>
        </>
      )}
      {error && <p className="error small" role="alert">{error}</p>}
    </section>
  );
}
