import { useEffect, useState } from 'react';
import { api, errorText, historyEntries, type HistoryEntry } from '../api';
import { TopicLine } from '../components/TopicLine';
import { OUTCOME_TEXT } from '../text';
import { useSession } from '../session';
import { duration } from '../time';

export function HistoryPage() {
  const { session } = useSession();
  const [items, setItems] = useState<HistoryEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api
      .history(session.token)
      .then((d) => {
        if (!live) return;
        setItems(historyEntries(d));
        setNext(d.next ?? null);
      })
      .catch((e: unknown) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [session.token]);

  const loadOlder = () => {
    if (!next || loadingMore) return;
    setLoadingMore(true);
    api
      .history(session.token, next)
      .then((d) => {
        setItems((old) => [...(old ?? []), ...historyEntries(d)]);
        setNext(d.next ?? null);
      })
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setLoadingMore(false));
  };

  return (
    <section className="card" aria-labelledby="history-title">
      <h1 id="history-title">Your past discussions</h1>
      {error && <p className="error" role="alert">{error}</p>}
      {!items && !error && <p className="muted" role="status">Loading…</p>}
      {items && items.length === 0 && <p className="muted">No discussions yet. Find a partner in the lobby.</p>}
      {items && items.length > 0 && (
        <ul className="history" data-testid="history">
          {items.map((h) => (
            <li key={h.id} className="history-item">
              <TopicLine title={h.topic_title || h.topic} format={h.format}>
                {h.side && <span className={`pill side-${h.side}`}>{h.side}</span>}
              </TopicLine>
              <div className="history-meta">
                <span>with {h.partner?.display_name ?? 'someone'}</span>
                <time dateTime={h.started_at}>{new Date(h.started_at).toLocaleString()}</time>
                <span>{durationOf(h)}</span>
                <span>{h.outcome ? OUTCOME_TEXT[h.outcome] ?? h.outcome : h.ended_at ? 'Ended' : 'In progress'}</span>
              </div>
            </li>
          ))}
        </ul>
      )}
      {next && (
        <button type="button" className="btn btn-wide" onClick={loadOlder} disabled={loadingMore} data-testid="history-older">
          {loadingMore ? 'Loading…' : 'Show older discussions'}
        </button>
      )}
    </section>
  );
}

function durationOf(h: HistoryEntry): string {
  if (typeof h.duration_seconds === 'number') return duration(h.duration_seconds);
  if (!h.ended_at) return '—';
  return duration((Date.parse(h.ended_at) - Date.parse(h.started_at)) / 1000);
}
