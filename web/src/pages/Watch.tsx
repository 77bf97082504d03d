import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { api, errorText, type LiveDebate, type WatchPass } from '../api';
import { formatTitle } from '../formats';
import { useSession } from '../session';

/** Public debates in progress, and a spectator's seat in one of them. */
// The spectator view (LiveKit's components) is a chunk of its own, loaded when a debate opens.
const Spectator = lazy(() => import('../components/Spectator').then((m) => ({ default: m.Spectator })));

const REFRESH_MS = 5000;

export function WatchPage() {
  const { session } = useSession();
  const [items, setItems] = useState<LiveDebate[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pass, setPass] = useState<WatchPass | null>(null);

  const load = useCallback(
    () =>
      api
        .live(session.token)
        .then((d) => {
          setItems(d.debates);
          setError(null);
        })
        .catch((e: unknown) => setError(errorText(e))),
    [session.token],
  );
  useEffect(() => {
    if (pass) return undefined;
    void load();
    const t = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(t);
  }, [load, pass]);

  async function watch(d: LiveDebate) {
    setError(null);
    try {
      setPass(await api.watch(session.token, d.discussion_id));
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
              <div className="history-main">
                <strong>{d.topic_title}</strong>
                <span className="pill">{formatTitle(d.format)}</span>
              </div>
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
