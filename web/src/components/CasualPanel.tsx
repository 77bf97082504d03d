// A casual talk's side panel: its description, the soft time limit, and the suggestion to turn
// the talk into a quick debate.
import type { DebateApi } from '../hooks/useDebate';

export function CasualPanel(props: {
  debate: DebateApi;
  motion: string;
  description: string;
}) {
  const { debate } = props;
  return (
    <section className="panel" aria-label="About this talk">
      {props.description && <p>{props.description}</p>}
      {debate.softLimitText && <p className="small muted" data-testid="soft-limit">{debate.softLimitText}</p>}
      {debate.warnings.map((w) => (
        <p key={w.id} className="notice small" role="status">{w.text}</p>
      ))}
      {debate.proposal ? (
        debate.proposal.mine ? (
          <p className="small" role="status">You suggested a quick debate. Waiting for an answer…</p>
        ) : (
          <div className="propose" role="group" aria-label="Debate suggestion">
            <p>Your partner suggests turning this into a quick debate on: <em>{props.motion}</em></p>
            <div className="row">
              <button type="button" className="btn btn-primary btn-small" onClick={() => void debate.respond(true)}>Agree</button>
              <button type="button" className="btn btn-small" onClick={() => void debate.respond(false)}>No thanks</button>
            </div>
          </div>
        )
      ) : (
        debate.canPropose && (
          <button type="button" className="btn btn-small" onClick={() => void debate.propose()}>
            Suggest a quick debate
          </button>
        )
      )}
      {debate.note && <p className="small muted" role="status">{debate.note}</p>}
      {debate.error && <p className="error small" role="alert">{debate.error}</p>}
    </section>
  );
}
