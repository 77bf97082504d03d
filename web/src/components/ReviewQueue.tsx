// The moderators' review queue: each report with its evidence (the chat as the reporter saw it
// and the room's record by the moderator agent) and both people's record; dismiss, warn or ban.
// Below it, the audit log of every moderation action.
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, type AuditAction, type ChatLine, type PersonRecord, type ReviewReport } from '../api';
import { REPORT_REASONS, REPORT_STATUS } from '../text';

export function ReviewQueue({ token }: { token: string }) {
  const [reports, setReports] = useState<ReviewReport[] | null>(null);
  const [actions, setActions] = useState<AuditAction[]>([]);
  const [error, setError] = useState<string | null>(null);
  const fetchAll = useCallback(() => {
    api
      .reviewQueue(token)
      .then((d) => setReports(d.reports))
      .catch((e: unknown) => setError(errorText(e)));
    api
      .audit(token)
      .then((d) => setActions(d.actions))
      .catch(() => setActions([]));
  }, [token]);
  const load = useCallback(() => {
    setError(null);
    fetchAll();
  }, [fetchAll]);
  useEffect(fetchAll, [fetchAll]);

  return (
    <section className="card" aria-labelledby="reports-title" data-testid="review-queue">
      <h1 id="reports-title">Reports</h1>
      {error && <p className="error" role="alert">{error}</p>}
      <button type="button" className="btn btn-small" onClick={load}>Refresh reports</button>
      {reports && reports.length === 0 && <p className="muted">No reports.</p>}
      <ul className="history">
        {(reports ?? []).map((r) => (
          <ReportItem key={r.id} report={r} token={token} onDecided={load} />
        ))}
      </ul>
      <h2>Audit log</h2>
      <ol className="small" data-testid="audit">
        {actions.map((a) => (
          <li key={a.id}>
            <time dateTime={a.at}>{new Date(a.at).toLocaleString()}</time> {a.actor.kind} {a.action}
            {a.ban && (a.ban.permanent ? ' (permanent)' : ` until ${a.ban.until ?? ''}`)} {a.reason && `: ${a.reason}`}
          </li>
        ))}
      </ol>
    </section>
  );
}

function ReportItem({ report, token, onDecided }: { report: ReviewReport; token: string; onDecided: () => void }) {
  const [days, setDays] = useState('1');
  const [permanent, setPermanent] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const label = `Report on ${report.reported.display_name}`;

  async function decide(action: 'dismiss' | 'warn' | 'ban') {
    setBusy(true);
    setError(null);
    try {
      if (action !== 'ban') await api.decide(token, report.id, { action, note });
      else if (permanent) await api.decide(token, report.id, { action, note, permanent: true });
      else await api.decide(token, report.id, { action, note, days: Number(days) });
      onDecided();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="history-item" aria-label={label}>
      <div className="history-main">
        <strong>{REPORT_REASONS[report.reason] ?? report.reason}</strong>
        <span className="pill" data-testid="report-status">{REPORT_STATUS[report.status] ?? report.status}</span>
      </div>
      <p className="small">
        {report.reporter.display_name} reported {report.reported.display_name}{' '}
        <time dateTime={report.created_at}>{new Date(report.created_at).toLocaleString()}</time>
      </p>
      {report.note && <p>“{report.note}”</p>}
      <Person title="Reported" name={report.reported.display_name} record={report.reported.record} />
      <Person title="Reporter" name={report.reporter.display_name} record={report.reporter.record} />
      <Lines title="Chat as the reporter saw it" lines={report.chat} testid="reporter-chat" />
      <Lines title="Chat as the moderator agent recorded it" lines={report.room_chat ?? []} testid="room-chat" names={names(report)} />
      {report.status === 'open' && (
        <div className="decision" role="group" aria-label="Decision">
          <label>
            Why (kept in the audit log)
            <input value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
          </label>
          <button type="button" className="btn btn-small" disabled={busy} onClick={() => void decide('dismiss')}>Dismiss</button>
          <button type="button" className="btn btn-small" disabled={busy} onClick={() => void decide('warn')}>Warn</button>
          <label>
            Ban days
            <input type="number" min="0" step="any" value={days} disabled={permanent} onChange={(e) => setDays(e.target.value)} />
          </label>
          <label className="check">
            <input type="checkbox" checked={permanent} onChange={(e) => setPermanent(e.target.checked)} />
            Permanent
          </label>
          <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => void decide('ban')}>Ban</button>
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
    </li>
  );
}

/** The room's record names senders by their identity (the user id): shown by name. */
function names(r: ReviewReport): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.reporter.id) out[r.reporter.id] = r.reporter.display_name;
  if (r.reported.id) out[r.reported.id] = r.reported.display_name;
  return out;
}

function Lines(props: { title: string; lines: ChatLine[]; testid: string; names?: Record<string, string> }) {
  return (
    <details open={props.lines.length > 0}>
      <summary>{props.title} ({props.lines.length})</summary>
      <ol className="small" data-testid={props.testid}>
        {props.lines.map((l, i) => (
          <li key={i}>
            <strong>{props.names?.[l.from] ?? l.from}</strong>: {l.text}
          </li>
        ))}
      </ol>
    </details>
  );
}

function Person({ title, name, record }: { title: string; name: string; record: PersonRecord | null }) {
  if (!record) return <p className="small muted">{title}: {name} (account deleted)</p>;
  const rating = record.ratings.average === null ? 'no ratings' : `${record.ratings.average} stars from ${record.ratings.count}`;
  return (
    <p className="small">
      {title}: {name} · reported {record.reports_received} times ({record.reports_upheld} upheld) · filed{' '}
      {record.reports_filed} · {rating}
      {record.held && ' · held for review'}
      {record.ban && (record.ban.permanent ? ' · banned for good' : ` · banned until ${record.ban.until ?? ''}`)}
    </p>
  );
}
