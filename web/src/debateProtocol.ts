// The moderator's state and hints (docs/PROTOCOL.md "Debate"), parsed strictly. The state comes
// two ways with one shape: the `debate.state` reply (JSON values, agent/state.py `state`) and
// the moderator's participant attributes (the same values as strings: plain text for a few
// keys, JSON for the rest, empty for null). Both go through parseDebateState.
import { decodeJson, dict, int, list, Malformed, nonEmpty, nullable, number, oneOf, record, string, bool, type Json } from './json';
import type { Side } from './lobbyProtocol';

export interface DebatePhase {
  index: number;
  name: string;
  kind: 'speech' | 'cross' | 'open' | 'prep';
  sides: Side[];
  seconds: number;
}

export type Outcome = 'completed' | 'forfeit' | 'ended_by_moderator' | 'abandoned' | 'finished' | 'reported';

export interface DebateState {
  format: string;
  kind: 'casual' | 'debate';
  status: 'waiting' | 'running' | 'ended';
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
  pauseReasons: ('moderator' | 'absent')[];
  /** identity -> epoch ms when the seat is given up. */
  absent: Record<string, number>;
  prepLeftMs: Record<string, number>;
  ready: string[];
  startsAt: number | null;
  /** identity -> side (null in a casual talk). */
  sides: Record<string, Side | null>;
  outcome: Outcome | null;
  winner: string | null;
  /** Only in the attributes (a `debate.state` reply leaves them out): '' when unknown. */
  topic: string;
  motion: string;
}

const SIDES = ['pro', 'con'] as const;
const OUTCOMES = ['completed', 'forfeit', 'ended_by_moderator', 'abandoned', 'finished', 'reported'] as const;

function parsePhase(v: unknown, at: string): DebatePhase {
  const p = record(v, at);
  return {
    index: int(p.index, `${at}.index`),
    name: string(p.name, `${at}.name`),
    kind: oneOf(p.kind, ['speech', 'cross', 'open', 'prep'] as const, `${at}.kind`),
    sides: list(p.sides, (x, a) => oneOf(x, SIDES, a), `${at}.sides`),
    seconds: int(p.seconds, `${at}.seconds`),
  };
}

const time = (v: unknown, at: string) => nullable(v, number, at);
const optionalText = (v: unknown, at: string) => (v === undefined || v === null ? '' : string(v, at));

/** The moderator's state from JSON values (a `debate.state` reply, or converted attributes). */
export function parseDebateState(v: unknown): DebateState {
  const a = record(v, 'state');
  const sides = dict(a.sides, (x, at) => nullable(x, (y, b) => oneOf(y, SIDES, b), at), 'sides');
  const format = nonEmpty(a.format, 'format');
  const debateSides = Object.values(sides).some((x) => x !== null);
  return {
    format,
    kind: format === 'casual' && !debateSides ? 'casual' : 'debate',
    status: oneOf(a.status, ['waiting', 'running', 'ended'] as const, 'status'),
    phase: nullable(a.phase, parsePhase, 'phase'),
    prep: nullable(a.prep, nonEmpty, 'prep'),
    floor: list(a.floor, nonEmpty, 'floor'),
    deadline: time(a.deadline, 'deadline'),
    graceUntil: time(a.grace_until, 'grace_until'),
    remainingMs: time(a.remaining_ms, 'remaining_ms'),
    paused: bool(a.paused, 'paused'),
    pauseReasons: list(a.pause_reasons, (x, at) => oneOf(x, ['moderator', 'absent'] as const, at), 'pause_reasons'),
    absent: dict(a.absent, number, 'absent'),
    prepLeftMs: dict(a.prep_left_ms, number, 'prep_left_ms'),
    ready: list(a.ready, nonEmpty, 'ready'),
    startsAt: time(a.starts_at, 'starts_at'),
    sides,
    outcome: nullable(a.outcome, (x, at) => oneOf(x, OUTCOMES, at), 'outcome'),
    winner: nullable(a.winner, nonEmpty, 'winner'),
    topic: optionalText(a.topic, 'topic'),
    motion: optionalText(a.motion, 'motion'),
  };
}

/**
 * Seconds left in what the clock times now, read at `now` (epoch ms); null when nothing is
 * timed. A speech never shows more than its length: a render may carry a `now` read a moment
 * before the moderator started the phase, or a clock a little behind the moderator's.
 */
export function timeLeft(state: DebateState, now: number): number | null {
  if (state.paused && state.remainingMs !== null) return state.remainingMs / 1000;
  if (state.deadline === null) return null;
  const left = (state.deadline - now) / 1000;
  return state.phase && !state.prep ? Math.min(left, state.phase.seconds) : left;
}

// These attributes are plain text, every other one is JSON; an empty value is null (LiveKit
// drops a key set to ''), and so is a missing key.
const PLAIN_ATTRIBUTES = new Set(['format', 'status', 'prep', 'outcome', 'winner', 'topic', 'motion']);
const STATE_KEYS = [
  'format', 'status', 'phase', 'prep', 'floor', 'deadline', 'grace_until', 'remaining_ms', 'paused',
  'pause_reasons', 'absent', 'prep_left_ms', 'ready', 'starts_at', 'sides', 'outcome', 'winner',
  'topic', 'motion',
];

/** The moderator's attributes as the JSON values of a `debate.state` reply. */
export function attributeValues(attrs: Readonly<Record<string, string>>): Json {
  const out: Json = {};
  for (const key of STATE_KEYS) {
    const raw = attrs[key];
    if (raw === undefined || raw === '') out[key] = null;
    else if (PLAIN_ATTRIBUTES.has(key)) out[key] = raw;
    else {
      try {
        out[key] = JSON.parse(raw);
      } catch {
        throw new Malformed(key);
      }
    }
  }
  return out;
}

/** The state the moderator's attributes show; null while it has set none (it just joined).
 * Throws Malformed for attributes of another shape. */
export function stateFromAttributes(attrs: Readonly<Record<string, string>> | undefined): DebateState | null {
  if (!attrs || !attrs.format) return null;
  return parseDebateState(attributeValues(attrs));
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
      return typeof o.from === 'string' ? { type: 'proposal', from: o.from } : { type: 'other' };
    case 'proposal_declined':
      return typeof o.by === 'string' ? { type: 'proposal_declined', by: o.by } : { type: 'other' };
    default:
      return { type: 'other' };
  }
}
