// DISCO's client/agent protocol, exactly as docs/PROTOCOL.md writes it down, in one place:
// commands are LiveKit RPC calls to an agent identity, events are reliable data packets on a
// topic, the debate's shared state is the moderator agent's participant attributes.
import { ConnectionState, RoomEvent, RpcError, type Room } from 'livekit-client';

export const LOBBY_IDENTITY = 'disco-lobby';
export const LOBBY_TOPIC = 'disco.lobby';
export const DEBATE_IDENTITY = 'disco-moderator';
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

// ---------------------------------------------------------------------------------------------
// Errors (PROTOCOL.md "Error codes")

const CODE_TEXT: Record<number, string> = {
  2001: 'That request was not understood.',
  2002: 'That topic does not exist any more. Please pick another.',
  2003: 'That format is not available. Please pick another.',
  2004: 'Please pick a side that fits this format.',
  2005: 'You are not in the queue any more.',
  2006: 'That match has already ended or expired.',
  2007: 'That match belongs to someone else.',
  2008: 'You declined several matches in a row, so please take a short break.',
  2009: 'You are already in a match.',
  2010: 'Too many requests. Please slow down a little.',
  2101: 'Only moderators can do that.',
  2102: 'Only the debaters can do that.',
  2103: 'That cannot be done at this point of the debate.',
  2104: 'That person is not in the room.',
  2099: 'The matchmaker had a problem. Please try again.',
  2199: 'The moderator had a problem. Please try again.',
  // LiveKit's own RPC codes (1001–1999).
  1400: 'The DISCO assistant is still starting. Please try again in a moment.',
  1401: 'The DISCO assistant is not in the room yet. Please try again in a moment.',
  1503: 'The DISCO assistant left the room. Please try again in a moment.',
  1505: 'Your request could not be sent. Check your connection and try again.',
  1500: 'The DISCO assistant did not answer in time. Please try again.',
  1501: 'The DISCO assistant did not answer in time. Please try again.',
  1502: 'The DISCO assistant did not answer in time. Please try again.',
};

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly name_: string,
    readonly data: Record<string, unknown>,
  ) {
    super(message);
  }
  get retryAfter(): number | null {
    const r = this.data.retry_after;
    return typeof r === 'number' ? r : null;
  }
}

function sentence(m: string): string {
  const t = m.trim();
  const cap = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}

function toProtocolError(e: unknown): ProtocolError {
  if (e instanceof RpcError) {
    let data: Record<string, unknown> = {};
    try {
      const parsed: unknown = e.data ? JSON.parse(e.data) : {};
      if (parsed && typeof parsed === 'object') data = parsed as Record<string, unknown>;
    } catch {
      data = {};
    }
    // DISCO's messages are written for a person; LiveKit's own are not.
    const own = e.code >= 2000 && e.message;
    let message = own
      ? sentence(e.message)
      : CODE_TEXT[e.code] ?? 'Something went wrong. Please try again.';
    const retry = data.retry_after;
    if (typeof retry === 'number' && !/\d/.test(message)) message += ` Try again in ${retry} s.`;
    return new ProtocolError(message, e.code, String(data.error ?? ''), data);
  }
  if (e instanceof ProtocolError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ProtocolError(msg || 'Something went wrong. Please try again.', 0, 'client', {});
}

// ---------------------------------------------------------------------------------------------
// RPC

/** True when the agent `identity` is in the room and ready for commands (the lobby agent sets
 * its attribute `lobby` to "ready" once its methods are registered; PROTOCOL.md "Lobby"). */
export function agentReady(room: Room, identity: string): boolean {
  const p = room.remoteParticipants.get(identity);
  if (!p) return false;
  return identity !== LOBBY_IDENTITY || p.attributes.lobby === 'ready';
}

/** Wait until the agent `identity` is in the room and ready (it joins a moment after us). */
export function waitForAgent(room: Room, identity: string, timeoutMs: number): Promise<void> {
  if (agentReady(room, identity)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const events = [RoomEvent.ParticipantConnected, RoomEvent.ParticipantAttributesChanged] as const;
    const done = () => {
      clearTimeout(timer);
      for (const e of events) room.off(e, check);
    };
    const check = () => {
      if (agentReady(room, identity)) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new ProtocolError(CODE_TEXT[1401], 1401, 'recipient_not_found', {}));
    }, timeoutMs);
    for (const e of events) room.on(e, check);
  });
}

// LiveKit's transport failures: the command did not arrive, so sending it again is safe.
const RETRYABLE = new Set([1501, 1505]);

async function call<T>(room: Room, identity: string, method: string, payload: object): Promise<T> {
  if (room.state !== ConnectionState.Connected) {
    throw new ProtocolError('Not connected. Please wait a moment.', 0, 'not_connected', {});
  }
  const send = () =>
    room.localParticipant.performRpc({
      destinationIdentity: identity,
      method,
      payload: JSON.stringify(payload),
      responseTimeout: 10000,
    });
  try {
    await waitForAgent(room, identity, 20000);
    let reply: string;
    try {
      reply = await send();
    } catch (e) {
      if (!(e instanceof RpcError && RETRYABLE.has(e.code))) throw e;
      await waitForAgent(room, identity, 20000);
      reply = await send();
    }
    return (reply ? JSON.parse(reply) : {}) as T;
  } catch (e) {
    const err = toProtocolError(e);
    console.warn(`${method} failed`, err.code, e instanceof Error ? e.message : e);
    throw err;
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
  /** Seconds, as the lobby estimates it when it sends the ticket. */
  estimated_wait: number | null;
}

export interface Proposal {
  match_id: string;
  partner: { display_name: string };
  topic: string;
  format: string;
  side: Side | null;
  /** Epoch milliseconds. */
  expires_at: number;
  /** This person has already accepted (from `lobby.status`). */
  accepted: boolean;
}

export interface ReadyInfo {
  match_id: string;
  room: string;
  url: string;
  token: string;
}

export type LobbyEvent =
  | ({ type: 'queued'; seq: number } & Ticket)
  | ({ type: 'proposed'; seq: number } & Proposal)
  | { type: 'cancelled'; seq: number; match_id: string; reason: string; requeued: boolean }
  | ({ type: 'ready'; seq: number } & ReadyInfo)
  | { type: 'other'; seq: number; raw: Record<string, unknown> };

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Accepts seconds or milliseconds since the epoch, or an ISO string; returns epoch ms. */
export function epochMs(v: unknown): number {
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return epochMs(n);
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return 0;
}

export function parseTicket(o: Record<string, unknown>): Ticket {
  const t = (o.ticket && typeof o.ticket === 'object' ? o.ticket : o) as Record<string, unknown>;
  const wait =
    num(t.estimated_wait) ?? num(t.estimated_wait_s) ?? num(t.estimated_wait_seconds) ?? null;
  const side = str(t.side);
  return {
    topic: str(t.topic),
    format: str(t.format),
    side: side === 'pro' || side === 'con' || side === 'any' ? side : null,
    position: num(t.position) ?? 0,
    waiting: num(t.waiting) ?? 0,
    estimated_wait: wait,
  };
}

function parseProposal(o: Record<string, unknown>): Proposal {
  const partner = (o.partner && typeof o.partner === 'object' ? o.partner : {}) as Record<
    string,
    unknown
  >;
  const side = str(o.side);
  return {
    match_id: str(o.match_id),
    partner: { display_name: str(partner.display_name) || 'Your partner' },
    topic: str(o.topic),
    format: str(o.format),
    side: side === 'pro' || side === 'con' ? side : null,
    // `expires_in` is relative, so a skewed clock on this computer does not matter.
    expires_at: num(o.expires_in) !== null ? Date.now() + (num(o.expires_in) as number) * 1000 : epochMs(o.expires_at),
    accepted: o.accepted === true,
  };
}

export function decodeJson(payload: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(payload));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function parseLobbyEvent(payload: Uint8Array): LobbyEvent | null {
  const o = decodeJson(payload);
  if (!o) return null;
  const seq = num(o.seq) ?? 0;
  switch (o.type) {
    case 'queued':
      return { type: 'queued', seq, ...parseTicket(o) };
    case 'proposed':
      return { type: 'proposed', seq, ...parseProposal(o) };
    case 'cancelled':
      return {
        type: 'cancelled',
        seq,
        match_id: str(o.match_id),
        reason: str(o.reason),
        requeued: o.requeued === true,
      };
    case 'ready':
      return {
        type: 'ready',
        seq,
        match_id: str(o.match_id),
        room: str(o.room),
        url: str(o.url),
        token: str(o.token),
      };
    default:
      return { type: 'other', seq, raw: o };
  }
}

export interface LobbyStatus {
  ticket: Ticket | null;
  proposal: Proposal | null;
  formats: FormatInfo[] | null;
}

function parseFormats(v: unknown): FormatInfo[] | null {
  if (!Array.isArray(v)) return null;
  const out: FormatInfo[] = [];
  for (const f of v) {
    if (typeof f === 'string') {
      const known = KNOWN_FORMATS.find((k) => k.id === f);
      out.push(known ?? { id: f, title: f, kind: f === 'casual' ? 'casual' : 'debate' });
    } else if (f && typeof f === 'object') {
      const r = f as Record<string, unknown>;
      const id = str(r.id);
      if (!id) continue;
      const kind = r.kind === 'casual' || id === 'casual' ? 'casual' : 'debate';
      out.push({ id, title: str(r.title) || id, kind, description: str(r.description) });
    }
  }
  return out.length ? out : null;
}

export function parseLobbyStatus(o: Record<string, unknown>): LobbyStatus {
  const t = o.ticket && typeof o.ticket === 'object' ? (o.ticket as Record<string, unknown>) : null;
  const m =
    (o.match ?? o.pending ?? o.proposal) && typeof (o.match ?? o.pending ?? o.proposal) === 'object'
      ? ((o.match ?? o.pending ?? o.proposal) as Record<string, unknown>)
      : null;
  return {
    ticket: t ? parseTicket(t) : null,
    proposal: m && m.match_id ? { ...parseProposal(m), accepted: m.accepted === true || m.state === 'started' } : null,
    formats: parseFormats(o.formats),
  };
}

export const lobby = {
  join: async (room: Room, topic: string, format: string, side: SideChoice | null) =>
    parseTicket(
      await call<Record<string, unknown>>(room, LOBBY_IDENTITY, 'lobby.join', {
        topic,
        format,
        ...(side ? { side } : {}),
      }),
    ),
  leave: (room: Room) => call<unknown>(room, LOBBY_IDENTITY, 'lobby.leave', {}),
  respond: (room: Room, match_id: string, accept: boolean) =>
    call<unknown>(room, LOBBY_IDENTITY, 'lobby.respond', { match_id, accept }),
  status: async (room: Room) =>
    parseLobbyStatus(await call<Record<string, unknown>>(room, LOBBY_IDENTITY, 'lobby.status', {})),
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

export type DebateEvent =
  | { type: 'phase'; seq: number; name: string; index: number }
  | { type: 'warning'; seq: number; secondsLeft: number; grace: number }
  | { type: 'paused'; seq: number; reason: string; identity: string | null; holdUntil: number | null }
  | { type: 'resumed'; seq: number }
  | { type: 'extended'; seq: number; seconds: number }
  | { type: 'ended'; seq: number; outcome: string; winner: string | null }
  | { type: 'proposal'; seq: number; from: string; format: string; expiresAt: number }
  | { type: 'proposal_declined'; seq: number; by: string }
  | { type: 'other'; seq: number; raw: Record<string, unknown> };

export function parseDebateEvent(payload: Uint8Array): DebateEvent | null {
  const o = decodeJson(payload);
  if (!o) return null;
  const seq = num(o.seq) ?? 0;
  switch (o.type) {
    case 'phase':
      return { type: 'phase', seq, name: str(o.name), index: num(o.index) ?? 0 };
    case 'warning':
      return { type: 'warning', seq, secondsLeft: num(o.seconds_left) ?? 0, grace: num(o.grace) ?? 0 };
    case 'paused':
      return { type: 'paused', seq, reason: str(o.reason), identity: str(o.identity) || null, holdUntil: num(o.hold_until) };
    case 'resumed':
      return { type: 'resumed', seq };
    case 'extended':
      return { type: 'extended', seq, seconds: num(o.seconds) ?? 0 };
    case 'ended':
      return { type: 'ended', seq, outcome: str(o.outcome), winner: str(o.winner) || null };
    case 'proposal':
      return { type: 'proposal', seq, from: str(o.from), format: str(o.format), expiresAt: num(o.expires_at) ?? 0 };
    case 'proposal_declined':
      return { type: 'proposal_declined', seq, by: str(o.by) };
    default:
      return { type: 'other', seq, raw: o };
  }
}

const D = DEBATE_IDENTITY;
export const debate = {
  ready: (room: Room) => call<unknown>(room, D, 'debate.ready', {}),
  yield: (room: Room) => call<unknown>(room, D, 'debate.yield', {}),
  state: (room: Room) => call<Record<string, unknown>>(room, D, 'debate.state', {}),
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
};

export const OUTCOME_TEXT: Record<string, string> = {
  completed: 'The debate ran to the end.',
  forfeit: 'The debate ended by forfeit.',
  ended_by_moderator: 'A moderator ended the debate.',
  abandoned: 'The talk was abandoned.',
  finished: 'The talk ended.',
};

// ---------------------------------------------------------------------------------------------
// Sequence numbers: a gap means an event was missed; the caller then asks for the state.

export class SeqTracker {
  private last = -1;
  /** True when `seq` skipped one or more numbers since the previous event. */
  gap(seq: number): boolean {
    const missed = this.last >= 0 && seq > this.last + 1;
    if (seq > this.last) this.last = seq;
    return missed;
  }
}
