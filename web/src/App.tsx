import { lazy, Suspense, useCallback, useMemo, useState } from 'react';
import type { User } from './api';
import { WarningNotice } from './components/WarningNotice';
import { go, useRoute } from './route';
import { loadSession, saveSession, SessionContext, type Session, type SessionApi } from './session';

// Each page is its own chunk, loaded the first time it is shown: the login page does not wait
// for LiveKit, and the lobby does not wait for the talk's video components.
const AuthPage = lazy(() => import('./pages/Auth').then((m) => ({ default: m.AuthPage })));
const LobbyPage = lazy(() => import('./pages/Lobby').then((m) => ({ default: m.LobbyPage })));
const ProfilePage = lazy(() => import('./pages/Profile').then((m) => ({ default: m.ProfilePage })));
const HistoryPage = lazy(() => import('./pages/History').then((m) => ({ default: m.HistoryPage })));
const WatchPage = lazy(() => import('./pages/Watch').then((m) => ({ default: m.WatchPage })));
const ModeratePage = lazy(() => import('./pages/Moderate').then((m) => ({ default: m.ModeratePage })));

function Loading() {
  return (
    <p className="muted" role="status" aria-busy="true">
      Loading…
    </p>
  );
}

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);

  const login = useCallback((s: Session, expiresIn: number) => {
    saveSession(s, expiresIn);
    setSession(s);
    setNotice(null);
    go('lobby');
  }, []);

  const api: SessionApi | null = useMemo(() => {
    if (!session) return null;
    return {
      session,
      setUser: (user: User) => {
        const next = { ...session, user };
        saveSession(next);
        setSession(next);
      },
      logout: (message?: string) => {
        saveSession(null);
        setSession(null);
        setNotice(message ?? 'You are logged out.');
        go('login');
      },
    };
  }, [session]);

  if (!api) {
    return (
      <div className="app">
        <Header />
        <main id="main" className="main">
          <Suspense fallback={<Loading />}>
            <AuthPage mode={route === 'register' ? 'register' : 'login'} onLogin={login} notice={notice} />
          </Suspense>
        </main>
      </div>
    );
  }

  return (
    <SessionContext.Provider value={api}>
      <div className="app">
        <Header user={api.session.user} route={route} onLogout={() => api.logout()} />
        <main id="main" className="main">
          <WarningNotice token={api.session.token} route={route} />
          {/* The lobby stays mounted so a queue or a talk survives a look at another page. */}
          <div hidden={route !== 'lobby' && route !== 'login' && route !== 'register'}>
            <Suspense fallback={<Loading />}>
              <LobbyPage />
            </Suspense>
          </div>
          <Suspense fallback={<Loading />}>
            {route === 'watch' && <WatchPage />}
            {route === 'profile' && <ProfilePage />}
            {route === 'history' && <HistoryPage />}
            {route === 'moderate' && api.session.user.role === 'moderator' && <ModeratePage />}
          </Suspense>
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function Header({ user, route, onLogout }: { user?: User; route?: string; onLogout?: () => void }) {
  return (
    <header className="topbar">
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <a className="brand" href="#/lobby" aria-label="DISCO home">
        <span className="brand-mark" aria-hidden="true">◉</span> DISCO
      </a>
      {user && (
        <nav aria-label="Main" className="nav">
          <a href="#/lobby" aria-current={route === 'lobby' ? 'page' : undefined}>Lobby</a>
          <a href="#/watch" aria-current={route === 'watch' ? 'page' : undefined}>Watch</a>
          <a href="#/history" aria-current={route === 'history' ? 'page' : undefined}>History</a>
          {user.role === 'moderator' && (
            <a href="#/moderate" aria-current={route === 'moderate' ? 'page' : undefined}>Moderate</a>
          )}
          <a href="#/profile" aria-current={route === 'profile' ? 'page' : undefined}>
            <span className="nav-user" data-testid="me-name">{user.display_name}</span>
          </a>
          <button type="button" className="btn btn-ghost" onClick={onLogout}>Log out</button>
        </nav>
      )}
    </header>
  );
}
