import { lazy, Suspense, useEffect, useState } from 'react';
import { api, errorText, type LiveDebate, type WatchPass } from '../api';
import { TopicLine } from '../components/TopicLine';
import { useApiList } from '../hooks/useApiList';

/** Public debates in progress, and a spectator's seat in one of them. */
// The spectator view (LiveKit's components) is a chunk of its own, loaded when a debate opens.
const Spectator = lazy(() => import('../components/Spectator').then((m) => ({ default: m.Spectator })));

const REFRESH_MS = 5000;

const readDebates = (token: string) => api.live(token).then((d) => d.debates);

export function WatchPage() {
  const { token, items, error, setError, load } = useApiList<LiveDebate>(readDebates);
  const [pass, setPass] = useState<WatchPass | null>(null);

  useEffect(() => {
    if (pass) return undefined;
    void load();
    const t = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(t);
  }, [load, pass]);

  async function watch(d: LiveDebate) {
    setError(null);
    try {
      setPass(await api.watch(token, d.discussion_id));
    } catch (e) {
      setError(errorText(e));
    }
  }

  if (pass) {
    return (
      <Suspense fallback={<p className="muted" role="status">Opening the debate…</p>}>
        <Spectator pass={pass} onClose={() => setPass(null)} />
      </Suspense>
    );
  }

  return (
    <section className="card" aria-labelledby="watch-title">
      <h1 id="watch-title">Watch a debate</h1>
      <p className="muted">Debates whose two debaters both let an audience watch. You can vote on who won.</p>
      {error && <p className="error" role="alert">{error}</p>}
      {items && items.length === 0 && <p className="muted" role="status">No public debate is running right now.</p>}
      {items && items.length > 0 && (
        <ul className="history" data-testid="live-debates">
          {items.map((d) => (
            <li key={d.discussion_id} className="history-item">
              <TopicLine title={d.topic_title} format={d.format} />
              <p className="motion small">
                <span className="label">Motion</span> {d.motion}
              </p>
              <div className="history-meta">
                <span data-testid="live-phase">{d.phase || 'starting'}</span>
                <span data-testid="live-audience">{d.audience} watching</span>
              </div>
              <button type="button" className="btn btn-small btn-primary" onClick={() => void watch(d)}>
                Watch
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
