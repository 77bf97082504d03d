import { useCallback, useEffect, useState } from 'react';
import { api, errorText, type LiveDiscussion } from '../api';
import { ReviewQueue } from '../components/ReviewQueue';
import { formatTitle } from '../formats';
import { useSession } from '../session';
import { LazyTalk } from './LazyTalk';
import type { TalkInfo } from './Talk';

/** Moderators: the live discussions, and a seat in one of them with the moderator controls. */
export function ModeratePage() {
  const { session } = useSession();
  const [items, setItems] = useState<LiveDiscussion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [talk, setTalk] = useState<TalkInfo | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const fetchItems = useCallback(
    () =>
      api
        .liveDiscussions(session.token)
        .then((d) => setItems(d.discussions))
        .catch((e: unknown) => setError(errorText(e))),
    [session.token],
  );
  const load = useCallback(() => {
    setError(null);
    void fetchItems();
  }, [fetchItems]);
  useEffect(() => {
    void fetchItems();
  }, [fetchItems]);

  async function join(d: LiveDiscussion) {
    setError(null);
    try {
      const t = await api.moderatorToken(session.token, d.id);
      const topics = await api.topics().catch(() => ({ topics: [] }));
      const topic = topics.topics.find((x) => x.slug === d.topic);
      setTalk({
        matchId: d.id,
        // From the API's own reply: the address and token it minted for this room.
        pass: { name: t.room, url: t.url, token: t.token },
        partnerName: d.participants.map((p) => p.display_name).join(' and '),
        topic: topic ?? { slug: d.topic, title: d.topic_title, description: '', motion: '' },
        format: d.format,
        side: null,
        moderator: true,
      });
    } catch (e) {
      setError(errorText(e));
    }
  }

  if (talk) {
    return (
      <LazyTalk
        info={talk}
        onEnded={(r) => {
          setTalk(null);
          setNote(r.reason);
          load();
        }}
      />
    );
  }

  return (
    <>
    <ReviewQueue token={session.token} />
    <section className="card" aria-labelledby="moderate-title">
      <h1 id="moderate-title">Live discussions</h1>
      {note && <p className="notice" role="status">{note}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      <button type="button" className="btn btn-small" onClick={load}>Refresh</button>
      {items && items.length === 0 && <p className="muted">Nobody is talking right now.</p>}
      {items && items.length > 0 && (
        <ul className="history">
          {items.map((d) => (
            <li key={d.id} className="history-item">
              <div className="history-main">
                <strong>{d.topic_title}</strong>
                <span className="pill">{formatTitle(d.format)}</span>
              </div>
              <div className="history-meta">
                <span>
                  {d.participants.map((p) => `${p.display_name}${p.side ? ` (${p.side})` : ''}`).join(' · ')}
                </span>
                <time dateTime={d.started_at}>since {new Date(d.started_at).toLocaleTimeString()}</time>
              </div>
              <button type="button" className="btn btn-small" onClick={() => void join(d)}>
                Join as moderator
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
    </>
  );
}
