import { useState, type FormEvent } from 'react';
import { api, errorText, unwrapUser } from '../api';
import { useSession } from '../session';

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
    </section>
  );
}
