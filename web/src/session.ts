// The logged-in session: the access token and the user, kept in this browser's storage.
import { createContext, useContext } from 'react';
import type { User } from './api';

export interface Session {
  token: string;
  user: User;
}

const KEY = 'disco.session';

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session & { expires?: number };
    if (s.expires && s.expires < Date.now()) return null;
    return { token: s.token, user: s.user };
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null, expiresIn = 3600): void {
  if (s) localStorage.setItem(KEY, JSON.stringify({ ...s, expires: Date.now() + expiresIn * 1000 }));
  else localStorage.removeItem(KEY);
}

export interface SessionApi {
  session: Session;
  setUser: (u: User) => void;
  logout: (message?: string) => void;
}

export const SessionContext = createContext<SessionApi | null>(null);

export function useSession(): SessionApi {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a logged-in page');
  return s;
}
