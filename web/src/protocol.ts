// DISCO's client/agent protocol as docs/PROTOCOL.md writes it down: what the agents' replies,
// attributes and events look like, parsed strictly (a reply of the wrong shape is refused, not
// guessed at). The transport (RPC, pacing) is in rpc.ts; what a client may trust is trust.ts.
import type { Room } from 'livekit-client';
import { call, DEBATE_IDENTITY, LOBBY_IDENTITY, ProtocolError } from './rpc';

export { DEBATE_IDENTITY, LOBBY_IDENTITY, ProtocolError } from './rpc';
export const LOBBY_TOPIC = 'disco.lobby';
export const DEBATE_TOPIC = 'disco.debate';

export type Side = 'pro' | 'con';
export type SideChoice = Side | 'any';

export interface FormatInfo {
  id: string;
  title: string;
  kind: 'casual' | 'debate';
  description?: string;
}

/** Used when the lobby does not list its formats (issue 4's catalogue). */
export const KNOWN_FORMATS: FormatInfo[] = [
  { id: 'casual', title: 'Casual conversation', kind: 'casual' },
  { id: 'quick-debate', title: 'Quick debate', kind: 'debate' },
  { id: 'lincoln-douglas', title: 'Lincoln-Douglas', kind: 'debate' },
  { id: 'oxford', title: 'Oxford-style', kind: 'debate' },
];

type Json = Record<string, unknown>;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Json | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

function side(v: unknown): Side | null {
  return v === 'pro' || v === 'con' ? v : null;
}

function malformed(what: string): ProtocolError {
  console.warn('unexpected reply', what);
  return new ProtocolError('The DISCO assistant sent an answer this page does not understand.', 0, 'malformed', {});
}

export function decodeJson(payload: Uint8Array): Json | null {
  try {
    return obj(JSON.parse(new TextDecoder().decode(payload)));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Lobby (PROTOCOL.md "Lobby")

export interface Ticket {
  topic: string;
  format: string;
  side: SideChoice | null;
  /** People ahead in the queue (0: next in line). */
  position: number;
  waiting: number;
  /** Seconds, as the lobby estimated it when it answered. */
  estimated_wait: number | null;
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

export function parseTicket(v: unknown): Ticket | null {
  const t = obj(v);
  if (!t || !t.topic || typeof t.topic !== 'string' || typeof t.format !== 'string') return null;
  const position = num(t.position);
  const waiting = num(t.waiting);
  if (position === null || waiting === null) return null;
  const choice = t.side === 'any' ? 'any' : side(t.side);
  return { topic: t.topic, format: t.format, side: choice, position, waiting, estimated_wait: num(t.estimated_wait) };
}

function parseProposal(v: unknown): Proposal | null {
  const m = obj(v);
  const partner = obj(m?.partner);
  if (!m || typeof m.match_id !== 'string' || !m.match_id || !partner) return null;
  if (typeof m.topic !== 'string' || typeof m.format !== 'string') return null;
  const expiresIn = num(m.expires_in);
  const expiresAt = num(m.expires_at);
  return {
    match_id: m.match_id,
    partner: { display_name: str(partner.display_name) || 'Your partner' },
    topic: m.topic,
    format: m.format,
    side: side(m.side),
    // `expires_in` is relative, so a skewed clock on this computer does not matter.
    expires_at: expiresIn !== null ? Date.now() + expiresIn * 1000 : expiresAt !== null ? expiresAt * 1000 : 0,
    accepted: m.accepted === true || m.state === 'started',
    started: m.state === 'started',
  };
}

function parseRoomPass(v: unknown): RoomPass | null {
  const r = obj(v);
  if (!r || typeof r.name !== 'string' || typeof r.url !== 'string' || typeof r.token !== 'string') return null;
  if (!r.name || !r.url || !r.token) return null;
  return { name: r.name, url: r.url, token: r.token };
}

function parseFormats(v: unknown): FormatInfo[] | null {
  if (!Array.isArray(v)) return null;
  const out: FormatInfo[] = [];
  for (const f of v) {
    const r = obj(f);
    if (!r || typeof r.id !== 'string' || !r.id) continue;
    const kind = r.kind === 'casual' ? 'casual' : 'debate';
    out.push({ id: r.id, title: str(r.title) || r.id, kind, description: str(r.description) });
  }
  return out.length ? out : null;
}

export interface LobbyStatus {
  ticket: Ticket | null;
  proposal: Proposal | null;
  room: RoomPass | null;
  formats: FormatInfo[] | null;
}

export function parseLobbyStatus(v: unknown): LobbyStatus {
  const o = obj(v);
  if (!o) throw malformed('lobby.status');
  return {
    ticket: parseTicket(o.ticket),
    proposal: parseProposal(o.match),
    room: parseRoomPass(o.room),
    formats: parseFormats(o.formats),
  };
}

/** A `disco.lobby` packet is a hint to call `lobby.status`, whoever sent it. Of its contents only
 * a cancellation's reason is kept, to pick which fixed sentence explains a cancellation that
 * the status then confirms. */
export type LobbyHint = { type: 'cancelled'; match_id: string; reason: string } | { type: 'other' };

export function parseLobbyHint(payload: Uint8Array): LobbyHint {
  const o = decodeJson(payload);
  if (o?.type === 'cancelled' && typeof o.match_id === 'string' && typeof o.reason === 'string') {
    if (Object.prototype.hasOwnProperty.call(CANCEL_TEXT, o.reason)) return { type: 'cancelled', match_id: o.match_id, reason: o.reason };
  }
  return { type: 'other' };
}

export const lobby = {
  join: async (room: Room, topic: string, format: string, side: SideChoice | null) => {
    const reply = obj(await call<unknown>(room, LOBBY_IDENTITY, 'lobby.join', { topic, format, ...(side ? { side } : {}) }));
    const ticket = parseTicket(reply?.ticket);
    if (!ticket) throw malformed('lobby.join');
    return ticket;
  },
  leave: (room: Room) => call<unknown>(room, LOBBY_IDENTITY, 'lobby.leave', {}),
  respond: (room: Room, match_id: string, accept: boolean) =>
    call<unknown>(room, LOBBY_IDENTITY, 'lobby.respond', { match_id, accept }),
  status: async (room: Room) => parseLobbyStatus(await call<unknown>(room, LOBBY_IDENTITY, 'lobby.status', {})),
};

export const CANCEL_TEXT: Record<string, string> = {
  declined: 'Your partner declined the match.',
  expired: 'Time ran out before both of you accepted.',
  partner_left: 'Your partner left the lobby.',
  failed: 'The room for your talk could not be opened.',
};

// ---------------------------------------------------------------------------------------------
// Debate (PROTOCOL.md "Debate"): state in the moderator's attributes, events on disco.debate

export interface DebatePhase {
  index: number;
  name: string;
  kind: string;
  sides: Side[];
  seconds: number;
}

/** The moderator's participant attributes: strings as they are, everything else JSON. */
export interface DebateState {
  format: string;
  kind: 'casual' | 'debate';
  status: 'waiting' | 'running' | 'ended' | string;
  phase: DebatePhase | null;
  /** Identity whose prep time runs now, if any. */
  prep: string | null;
  /** Identities that may use their microphone now. */
  floor: string[];
  /** Epoch ms when the current time runs out, while the clock runs. */
  deadline: number | null;
  graceUntil: number | null;
  /** Ms left while paused. */
  remainingMs: number | null;
  paused: boolean;
  pauseReasons: string[];
  /** identity -> epoch ms when the seat is given up. */
  absent: Record<string, number>;
  prepLeftMs: Record<string, number>;
  ready: string[];
  startsAt: number | null;
  /** identity -> side (null in a casual talk). */
  sides: Record<string, Side | null>;
  outcome: string | null;
  winner: string | null;
  topic: string;
  motion: string;
}

function jsonAttr(v: string | undefined): unknown {
  if (v === undefined || v === '') return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function numMap(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x === 'number') out[k] = x;
  }
  return out;
}

function parsePhase(v: unknown): DebatePhase | null {
  if (!v || typeof v !== 'object') return null;
  const p = v as Record<string, unknown>;
  return {
    index: num(p.index) ?? 0,
    name: str(p.name),
    kind: str(p.kind),
    sides: strList(p.sides).filter((x): x is Side => x === 'pro' || x === 'con'),
    seconds: num(p.seconds) ?? 0,
  };
}

// PROTOCOL.md: these attributes are plain text, every other one is JSON; a missing key is null.
const PLAIN_ATTRIBUTES = new Set(['format', 'status', 'prep', 'outcome', 'winner', 'topic', 'motion']);

export function parseDebateState(
  attrs: Readonly<Record<string, string>> | undefined,
): DebateState | null {
  if (!attrs || !attrs.format) return null;
  const a: Record<string, unknown> = Object.fromEntries(
    Object.entries(attrs).map(([k, v]) => [k, PLAIN_ATTRIBUTES.has(k) ? v : jsonAttr(v)]),
  );
  const sides: Record<string, Side | null> = {};
  if (a.sides && typeof a.sides === 'object') {
    for (const [id, x] of Object.entries(a.sides as Record<string, unknown>)) {
      sides[id] = x === 'pro' || x === 'con' ? x : null;
    }
  }
  const format = str(a.format);
  const debateSides = Object.values(sides).some((x) => x !== null);
  return {
    format,
    kind: format === 'casual' && !debateSides ? 'casual' : 'debate',
    status: str(a.status),
    phase: parsePhase(a.phase),
    prep: str(a.prep) || null,
    floor: strList(a.floor),
    deadline: num(a.deadline),
    graceUntil: num(a.grace_until),
    remainingMs: num(a.remaining_ms),
    paused: a.paused === true,
    pauseReasons: strList(a.pause_reasons),
    absent: numMap(a.absent),
    prepLeftMs: numMap(a.prep_left_ms),
    ready: strList(a.ready),
    startsAt: num(a.starts_at),
    sides,
    outcome: str(a.outcome) || null,
    winner: str(a.winner) || null,
    topic: str(a.topic),
    motion: str(a.motion),
  };
}

/** Turns a `debate.state` reply (the attributes as JSON values) into the attributes' own form
 * (strings), so both are read by parseDebateState. */
export function debateReplyAttributes(v: unknown): Record<string, string> | null {
  const o = obj(v);
  if (!o) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) {
    if (k === 'seq' || x === null || x === undefined) continue;
    out[k] = PLAIN_ATTRIBUTES.has(k) ? str(x) : JSON.stringify(x);
  }
  return out;
}

/** A `disco.debate` packet is a hint to call `debate.state`, whoever sent it. What it says is
 * never drawn; a warning only asks the page to show, from the state it then reads, how much
 * time is left, and a casual talk's suggestion only opens the question the partner may ask. */
export type DebateHint =
  | { type: 'warning' }
  | { type: 'proposal'; from: string }
  | { type: 'proposal_declined'; by: string }
  | { type: 'phase' }
  | { type: 'other' };

export function parseDebateHint(payload: Uint8Array): DebateHint {
  const o = decodeJson(payload);
  switch (o?.type) {
    case 'warning':
      return { type: 'warning' };
    case 'phase':
      return { type: 'phase' };
    case 'proposal':
      return { type: 'proposal', from: str(o.from) };
    case 'proposal_declined':
      return { type: 'proposal_declined', by: str(o.by) };
    default:
      return { type: 'other' };
  }
}

const D = DEBATE_IDENTITY;
export const debate = {
  ready: (room: Room) => call<unknown>(room, D, 'debate.ready', {}),
  yield: (room: Room) => call<unknown>(room, D, 'debate.yield', {}),
  state: async (room: Room) => {
    const attrs = debateReplyAttributes(await call<unknown>(room, D, 'debate.state', {}));
    if (!attrs) throw malformed('debate.state');
    return attrs;
  },
  propose: (room: Room) => call<unknown>(room, D, 'debate.propose', {}),
  respond: (room: Room, accept: boolean) => call<unknown>(room, D, 'debate.respond', { accept }),
  pause: (room: Room) => call<unknown>(room, D, 'debate.pause', {}),
  resume: (room: Room) => call<unknown>(room, D, 'debate.resume', {}),
  extend: (room: Room, seconds: number) => call<unknown>(room, D, 'debate.extend', { seconds }),
  skip: (room: Room) => call<unknown>(room, D, 'debate.skip', {}),
  end: (room: Room) => call<unknown>(room, D, 'debate.end', {}),
  mute: (room: Room, identity: string) => call<unknown>(room, D, 'debate.mute', { identity }),
};

export const OUTCOME_SHORT: Record<string, string> = {
  completed: 'Completed',
  forfeit: 'Forfeit',
  ended_by_moderator: 'Ended by a moderator',
  abandoned: 'Abandoned',
  finished: 'Finished',
  lost: 'Interrupted',
};

export const OUTCOME_TEXT: Record<string, string> = {
  completed: 'The debate ran to the end.',
  forfeit: 'The debate ended by forfeit.',
  ended_by_moderator: 'A moderator ended the debate.',
  abandoned: 'The talk was abandoned.',
  finished: 'The talk ended.',
  lost: 'The talk was cut off by a server failure.',
};

