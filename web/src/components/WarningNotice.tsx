// A moderator's warning, shown at the top of every page until the person says they have read
// it (GET /api/me/warnings, POST /api/me/warnings/{id}/read), looked for at each page load and
// each move to another page. It says when and for what reason, never who reported.
import { useEffect, useState } from 'react';
import { api, errorText, type ModeratorWarning } from '../api';
import { REPORT_REASONS, warningText } from '../text';

export function WarningNotice({ token, route }: { token: string; route: string }) {
  const [warnings, setWarnings] = useState<ModeratorWarning[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .myWarnings(token)
      .then((d) => setWarnings(d.warnings))
      .catch(() => setWarnings([])); // shown at the next page load instead
  }, [token, route]);
  const first = warnings[0];
  if (!first) return null;

  async function read(id: string) {
    setError(null);
    try {
      await api.warningRead(token, id);
      setWarnings((ws) => ws.filter((w) => w.id !== id));
    } catch (e) {
      setError(errorText(e));
    }
  }

  return (
    <section className="notice banner warning-notice" role="alert" aria-labelledby="warning-title" data-testid="warning">
      <h2 id="warning-title">A moderator has warned you</h2>
      <p>{warningText(REPORT_REASONS[first.reason] ?? REPORT_REASONS.other, new Date(first.at))}</p>
      {error && <p className="error">{error}</p>}
      <button type="button" className="btn" onClick={() => void read(first.id)}>
        I understand
      </button>
    </section>
  );
}
