import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, unwrapUser, type OwnReport } from '../api';
import { useSession } from '../session';
import { REPORT_REASONS, REPORT_STATUS } from '../text';

export function ProfilePage() {
  const { session, setUser, logout } = useSession();
  const [name, setName] = useState(session.user.display_name);
  const [bio, setBio] = useState(session.user.bio ?? '');
  const [audience, setAudience] = useState(session.user.allow_audience === true);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setMsg(null);
    try {
      const user = unwrapUser(await api.updateMe(session.token, { display_name: name.trim(), bio, allow_audience: audience }));
      setUser(user);
      setMsg({ ok: true, text: 'Your profile is saved.' });
    } catch (err) {
      if (err instanceof Error && 'status' in err && err.status === 401) logout('Your session has ended. Please log in again.');
      setMsg({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow" aria-labelledby="profile-title">
      <h1 id="profile-title">Your profile</h1>
      <p className="muted">{session.user.email}</p>
      <form onSubmit={submit}>
        <label>
          Display name
          <input required maxLength={40} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          About you
          <textarea maxLength={280} rows={4} value={bio} onChange={(e) => setBio(e.target.value)} aria-describedby="bio-hint" />
        </label>
        <p id="bio-hint" className="hint">{280 - bio.length} characters left.</p>
        <label className="check">
          <input type="checkbox" checked={audience} onChange={(e) => setAudience(e.target.checked)} aria-describedby="audience-hint" />{' '}
          Let an audience watch my debates
        </label>
        <p id="audience-hint" className="hint">
          A debate is public only when both debaters allow it; casual talks are never watched. Spectators can vote on who won.
        </p>
        {msg && <p className={msg.ok ? 'notice' : 'error'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p>}
        <button className="btn btn-primary" type="submit" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      </form>
      <OwnReports token={session.token} />
      <DeleteAccount token={session.token} onDeleted={() => logout('Your account is deleted.')} />
    </section>
  );
}

/** The person's reports and what moderators decided on each. */
function OwnReports({ token }: { token: string }) {
  const [reports, setReports] = useState<OwnReport[] | null>(null);
  useEffect(() => {
    api
      .myReports(token)
      .then((d) => setReports(d.reports))
      .catch(() => setReports(null));
  }, [token]);
  if (!reports || reports.length === 0) return null;
  return (
    <section aria-labelledby="own-reports-title">
      <h2 id="own-reports-title">Your reports</h2>
      <ul className="small" data-testid="own-reports">
        {reports.map((r) => (
          <li key={r.id}>
            {REPORT_REASONS[r.reason] ?? r.reason} about {r.user_name}: {REPORT_STATUS[r.status] ?? r.status}
          </li>
        ))}
      </ul>
    </section>
  );
}

function DeleteAccount({ token, onDeleted }: { token: string; onDeleted: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await api.deleteMe(token, password);
      onDeleted();
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <form onSubmit={submit} aria-labelledby="delete-title">
      <h2 id="delete-title">Delete your account</h2>
      <p className="hint">Your profile, ratings and blocks go. Reports about you stay for the moderators.</p>
      <label>
        Your password
        <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <button className="btn btn-danger" type="submit" disabled={!password}>Delete my account</button>
    </form>
  );
}
