// A list the API gives to the signed-in person (live debates, live discussions): the items once
// read, the error of the last read, and `load` to read it again. `read` must keep its identity
// between renders (a module-level function), or every render would read again.
import { useCallback, useState } from 'react';
import { errorText } from '../api';
import { useSession } from '../session';

export function useApiList<T>(read: (token: string) => Promise<T[]>) {
  const { session } = useSession();
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    () =>
      read(session.token)
        .then((found) => {
          setItems(found);
          setError(null);
        })
        .catch((e: unknown) => setError(errorText(e))),
    [read, session.token],
  );
  return { token: session.token, items, error, setError, load };
}
