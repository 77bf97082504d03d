import { useEffect, useState } from 'react';
import { api, errorText, type LiveDiscussion } from '../api';
import { ReviewQueue } from '../components/ReviewQueue';
import { TopicLine } from '../components/TopicLine';
import { useApiList } from '../hooks/useApiList';
import { LazyTalk } from './LazyTalk';
import type { TalkInfo } from './Talk';

const readDiscussions = (token: string) => api.liveDiscussions(token).then((d) => d.discussions);

/** Moderators: the live discussions, and a seat in one of them with the moderator controls. */
export function ModeratePage() {
  const { token, items, error, setError, load } = useApiList<LiveDiscussion>(readDiscussions);
  const [talk, setTalk] = useState<TalkInfo | null>(null);
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    void load();
  }, [load]);

  async function join(d: LiveDiscussion) {
    setError(null);
    try {
      const t = await api.moderatorToken(token, d.id);
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
          void load();
        }}
      />
    );
  }

  return (
    <>
    <ReviewQueue token={token} />
    <section className="card" aria-labelledby="moderate-title">
      <h1 id="moderate-title">Live discussions</h1>
      {note && <p className="notice" role="status">{note}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      <button type="button" className="btn btn-small" onClick={() => void load()}>Refresh</button>
      {items && items.length === 0 && <p className="muted">Nobody is talking right now.</p>}
      {items && items.length > 0 && (
        <ul className="history">
          {items.map((d) => (
            <li key={d.id} className="history-item">
              <TopicLine title={d.topic_title} format={d.format} />
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
