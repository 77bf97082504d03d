// The lobby agent's replies and hints (docs/PROTOCOL.md "Lobby"), parsed strictly: a reply
// holds exactly the fields the agent writes (agent/lobby_session.py, lobby/protocol.py), of
// exactly their types, or it is refused whole. Fields the agent may add later are ignored.
import { CANCEL_REASONS, type CancelReason } from './text';
import { bool, decodeJson, dict, int, list, Malformed, nonEmpty, nullable, number, oneOf, record, string, type Json } from './json';

export type Side = 'pro' | 'con';
export type SideChoice = Side | 'any';
const SIDES = ['pro', 'con'] as const;
const SIDE_CHOICES = ['pro', 'con', 'any'] as const;

export interface FormatInfo {
  id: string;
  title: string;
  kind: 'casual' | 'debate';
  description?: string;
}

export interface Ticket {
  topic: string;
  format: string;
  /** `null` on a casual ticket. */
  side: SideChoice | null;
  /** People ahead in the queue (0: next in line). */
  position: number;
  waiting: number;
  /** Seconds, as the lobby estimated it when it answered. */
  estimated_wait: number;
}

export interface Proposal {
  match_id: string;
  partner: { display_name: string };
  topic: string;
  format: string;
  side: Side | null;
  /** Epoch milliseconds, on this computer's clock. */
  expires_at: number;
  /** This person has already accepted. */
  accepted: boolean;
  /** Both accepted: the room is opened (or open). */
  started: boolean;
}

/** Where a person's talk is: only ever from a `lobby.status` reply to that person. */
export interface RoomPass {
  name: string;
  url: string;
  token: string;
}

export interface LobbyStatus {
  ticket: Ticket | null;
  proposal: Proposal | null;
  room: RoomPass | null;
  formats: FormatInfo[];
}

export type RespondStatus = 'accepted' | 'starting' | 'declined';

export function parseTicket(v: unknown, at = 'ticket'): Ticket {
  const t = record(v, at);
  return {
    topic: nonEmpty(t.topic, `${at}.topic`),
    format: nonEmpty(t.format, `${at}.format`),
    side: nullable(t.side, (x, a) => oneOf(x, SIDE_CHOICES, a), `${at}.side`),
    position: int(t.position, `${at}.position`),
    waiting: int(t.waiting, `${at}.waiting`, 1),
    estimated_wait: number(t.estimated_wait, `${at}.estimated_wait`),
  };
}

/** `now`: this computer's clock (ms), which `expires_in` is counted from, so a clock that is
 * off does not matter. */
export function parseProposal(v: unknown, now: number, at = 'match'): Proposal {
  const m = record(v, at);
  const partner = record(m.partner, `${at}.partner`);
  number(m.expires_at, `${at}.expires_at`);
  const expiresIn = number(m.expires_in, `${at}.expires_in`);
  const state = oneOf(m.state, ['pending', 'started'] as const, `${at}.state`);
  return {
    match_id: nonEmpty(m.match_id, `${at}.match_id`),
    partner: { display_name: nonEmpty(partner.display_name, `${at}.partner.display_name`) },
    topic: nonEmpty(m.topic, `${at}.topic`),
    format: nonEmpty(m.format, `${at}.format`),
    side: nullable(m.side, (x, a) => oneOf(x, SIDES, a), `${at}.side`),
    expires_at: now + Math.max(0, expiresIn) * 1000,
    accepted: bool(m.accepted, `${at}.accepted`),
    started: state === 'started',
  };
}

export function parseRoomPass(v: unknown, at = 'room'): RoomPass {
  const r = record(v, at);
  return { name: nonEmpty(r.name, `${at}.name`), url: nonEmpty(r.url, `${at}.url`), token: nonEmpty(r.token, `${at}.token`) };
}

function parseFormat(v: unknown, at: string): FormatInfo {
  const f = record(v, at);
  return {
    id: nonEmpty(f.id, `${at}.id`),
    title: nonEmpty(f.title, `${at}.title`),
    kind: oneOf(f.kind, ['casual', 'debate'] as const, `${at}.kind`),
    description: string(f.description, `${at}.description`),
  };
}

/** The `lobby.status` reply. */
export function parseLobbyStatus(v: unknown, now: number): LobbyStatus {
  const o = record(v, 'status');
  dict(o.waiting, (x, at) => dict(x, (n, a) => int(n, a), at), 'waiting');
  return {
    ticket: nullable(o.ticket, parseTicket, 'ticket'),
    proposal: nullable(o.match, (x, at) => parseProposal(x, now, at), 'match'),
    room: nullable(o.room, parseRoomPass, 'room'),
    formats: list(o.formats, parseFormat, 'formats'),
  };
}

/** The `lobby.join` reply: the new ticket. */
export function parseJoinReply(v: unknown): Ticket {
  return parseTicket(record(v, 'join').ticket);
}

/** The `lobby.leave` reply. */
export function parseLeaveReply(v: unknown): void {
  if (record(v, 'leave').left !== true) throw new Malformed('leave.left');
}

/** The `lobby.respond` reply, for the match that was answered. */
export function parseRespondReply(v: unknown, matchId: string): RespondStatus {
  const o = record(v, 'respond');
  if (o.match_id !== matchId) throw new Malformed('respond.match_id');
  return oneOf(o.status, ['accepted', 'starting', 'declined'] as const, 'respond.status');
}

/** A `disco.lobby` packet is a hint to call `lobby.status`, whoever sent it. Of its contents only
 * a cancellation's reason is kept, to pick which fixed sentence explains a cancellation that
 * the status then confirms. */
export type LobbyHint = { type: 'cancelled'; match_id: string; reason: CancelReason } | { type: 'other' };

export function parseLobbyHint(payload: Uint8Array): LobbyHint {
  const o = decodeJson(payload);
  if (o?.type !== 'cancelled' || typeof o.match_id !== 'string' || !o.match_id) return { type: 'other' };
  const reason = CANCEL_REASONS.find((r) => r === o.reason);
  return reason ? { type: 'cancelled', match_id: o.match_id, reason } : { type: 'other' };
}

/** Whether a `disco.lobby` packet calls for reading the state. Every packet does (each is a
 * hint), except the agent's `sent` note when every event it names for this connection has
 * arrived already: the agent sends it through its own connection in case LiveKit's server API
 * lost an event (PROTOCOL.md). Event numbers count only from packets with no sending
 * participant (the server's), so a participant's forged event cannot mute the notes; a note
 * can only spare a call, never make the client act. */
export class SentCheck {
  private highest = 0;

  wanted(payload: Uint8Array, me: string, fromServer: boolean): boolean {
    const o = decodeJson(payload);
    if (o?.type === 'sent') {
      const seqs = o.seq;
      const named =
        seqs !== null && typeof seqs === 'object' && !Array.isArray(seqs) && Object.hasOwn(seqs, me)
          ? (seqs as Json)[me]
          : undefined;
      return !(typeof named === 'number' && named <= this.highest);
    }
    if (fromServer && typeof o?.seq === 'number' && o.seq > this.highest) this.highest = o.seq;
    return true;
  }
}
