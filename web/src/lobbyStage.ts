// What the lobby page shows, as a function of the lobby agent's `lobby.status` reply and what
// the page showed before. Nothing else moves a person from one stage to the next: data packets
// only ask for a fresh reply (docs/PROTOCOL.md "Clients: what to trust").
import { CANCEL_TEXT, type LobbyStatus, type Proposal, type RoomPass, type Ticket } from './protocol';
import { refusePass } from './trust';

export type Stage =
  | { kind: 'connecting' }
  | { kind: 'offline'; message: string }
  | { kind: 'choose' }
  | { kind: 'waiting'; ticket: Ticket; since: number; receivedAt: number }
  | { kind: 'proposed'; proposal: Proposal; answered: boolean | null }
  | { kind: 'room'; pass: RoomPass; proposal: Proposal | null };

export interface StatusView {
  stage: Stage;
  /** A notice to show; undefined leaves the current one. */
  notice?: string | null;
  /** Read the status once more before believing it (see viewFromStatus). */
  recheck?: boolean;
}

/** The sentence for a proposal that the status says is gone. `reason` is what a hint claimed
 * (one of the fixed reasons, or unknown); only the wording depends on it. */
export function cancelNotice(reason: string | undefined, requeued: boolean): string {
  const base = (reason && CANCEL_TEXT[reason]) || 'The match was called off.';
  if (requeued) return `${base} You are back at the front of the queue.`;
  if (reason === 'expired') return `${base} You did not answer in time, so you left the queue.`;
  return `${base} You are no longer in the queue.`;
}

function proposedView(prev: Stage, proposal: Proposal): StatusView {
  const same = prev.kind === 'proposed' && prev.proposal.match_id === proposal.match_id;
  // An answer given here and not yet seen by the lobby is kept; after an agent restart the
  // same match is proposed again and `accepted` keeps the answer given before.
  const answered = same && prev.answered !== null ? prev.answered : proposal.accepted ? true : null;
  return same ? { stage: { kind: 'proposed', proposal, answered } } : { stage: { kind: 'proposed', proposal, answered }, notice: null };
}

export function viewFromStatus(
  prev: Stage,
  st: LobbyStatus,
  livekitUrls: readonly string[],
  reasons: ReadonlyMap<string, string>,
  now: number,
  rechecked: ReadonlySet<string>,
): StatusView {
  if (st.room) {
    const why = refusePass(st.room, livekitUrls);
    if (why === null) {
      const proposal = st.proposal ?? (prev.kind === 'proposed' ? prev.proposal : null);
      return { stage: { kind: 'room', pass: st.room, proposal } };
    }
    console.warn('room refused', why);
  }
  if (st.proposal) return proposedView(prev, st.proposal);
  let notice: string | undefined;
  if (prev.kind === 'proposed' && prev.answered !== false) {
    // The lobby reads a person's ticket and match one after the other: a reply taken while a
    // match is called off can show neither, though the ticket is back a moment later. Such a
    // reply is read once more before the proposal is taken away.
    const id = prev.proposal.match_id;
    if (!st.ticket && !rechecked.has(id)) return { stage: prev, recheck: true };
    notice = cancelNotice(reasons.get(id), st.ticket !== null);
  }
  if (st.ticket) {
    const since = prev.kind === 'waiting' ? prev.since : now;
    return { stage: { kind: 'waiting', ticket: st.ticket, since, receivedAt: now }, notice };
  }
  return { stage: { kind: 'choose' }, notice };
}
