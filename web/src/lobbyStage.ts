// What the lobby page shows, as a function of the lobby agent's `lobby.status` reply and what
// the page showed before. Nothing else moves a person from one stage to the next: data packets
// only ask for a fresh reply (docs/PROTOCOL.md "Clients: what to trust").
import type { LobbyStatus, Proposal, RoomPass, Ticket } from './lobbyProtocol';
import { cancelNotice, type CancelReason } from './text';
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
  reasons: ReadonlyMap<string, CancelReason>,
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
