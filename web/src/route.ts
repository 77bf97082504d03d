// Hash routes, so the API only has to serve index.html at `/`.
import { useEffect, useState } from 'react';

export type Route = 'login' | 'register' | 'lobby' | 'watch' | 'profile' | 'history' | 'moderate';
const ROUTES: Route[] = ['login', 'register', 'lobby', 'watch', 'profile', 'history', 'moderate'];

function current(): Route {
  const r = window.location.hash.replace(/^#\/?/, '') as Route;
  return ROUTES.includes(r) ? r : 'lobby';
}

export function go(r: Route): void {
  window.location.hash = `#/${r}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(current);
  useEffect(() => {
    const on = () => setRoute(current());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
