import { useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../api';
import { Consent, Rules } from '../components/Rules';
import type { Session } from '../session';

interface Props {
  mode: 'login' | 'register';
  onLogin: (s: Session, expiresIn: number) => void;
  notice: string | null;
}

export function AuthPage({ mode, onLogin, notice }: Props) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [adult, setAdult] = useState(false);
  const [terms, setTerms] = useState(false);
  // An account made before the rules existed confirms them at its next login.
  const [mustConfirm, setMustConfirm] = useState(false);
  const register = mode === 'register';
  const asksConsent = register || mustConfirm;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.trim())) {
      setError('Please enter your email address, like name@example.com.');
      return;
    }
    if (register && !name.trim()) {
      setError('Please choose a display name.');
      return;
    }
    if (register && password.length < 10) {
      setError('Your password needs at least 10 characters.');
      return;
    }
    if (asksConsent && !(adult && terms)) {
      setError('DISCO is for adults who accept its rules: please confirm both.');
      return;
    }
    setBusy(true);
    try {
      if (register) await api.register(email, password, name.trim());
      const res = await api.login(email, password, asksConsent);
      onLogin({ token: res.access_token, user: res.user }, res.expires_in);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'terms_required' && !register) setMustConfirm(true);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card auth" aria-labelledby="auth-title">
      <h1 id="auth-title">{register ? 'Create your account' : 'Log in to DISCO'}</h1>
      <p className="muted">
        Meet a stranger who cares about the same topic, for a friendly talk or a timed debate.
      </p>
      {notice && !register && <p className="notice" role="status">{notice}</p>}
      <form onSubmit={submit} noValidate>
        <label>
          Email
          <input type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete={register ? 'new-password' : 'current-password'}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={register ? 'pw-hint' : undefined}
          />
        </label>
        {register && <p id="pw-hint" className="hint">At least 10 characters.</p>}
        {register && (
          <label>
            Display name
            <input
              autoComplete="nickname"
              required
              maxLength={40}
              value={name}
              onChange={(e) => setName(e.target.value)}
              aria-describedby="name-hint"
            />
          </label>
        )}
        {register && <p id="name-hint" className="hint">What your partners will see, up to 40 characters.</p>}
        {asksConsent && <Rules />}
        {asksConsent && <Consent adult={adult} terms={terms} onAdult={setAdult} onTerms={setTerms} />}
        {error && <p className="error" role="alert">{error}</p>}
        <button className="btn btn-primary btn-wide" type="submit" disabled={busy}>
          {busy ? 'Please wait…' : register ? 'Create account' : 'Log in'}
        </button>
      </form>
      <p className="switch">
        {register ? (
          <>Already have an account? <a href="#/login">Log in</a></>
        ) : (
          <>New here? <a href="#/register">Create an account</a></>
        )}
      </p>
    </section>
  );
}
