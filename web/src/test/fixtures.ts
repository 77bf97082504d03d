// Replies shaped as DISCO's agents write them (agent/lobby_session.py `status`, lobby/protocol.py
// `ticket_view` and `match_view`, agent/state.py `state`), for the parser and stage tests.

/** A LiveKit-style token whose payload claims `room` (the signature is not checked here). */
export function tokenFor(room: string | null): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const claims = room === null ? { sub: 'x' } : { sub: 'x', video: { room, roomJoin: true } };
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.signature`;
}

export const URL_OK = 'wss://livekit.example:7880';

export function ticket(over: Record<string, unknown> = {}) {
  return { topic: 'remote-work', format: 'quick-debate', side: 'pro', position: 0, waiting: 1, estimated_wait: 30, ...over };
}

export function match(over: Record<string, unknown> = {}) {
  return {
    match_id: '0f6c',
    partner: { display_name: 'Ada' },
    topic: 'remote-work',
    format: 'quick-debate',
    side: 'con',
    expires_at: 1767225600.5,
    expires_in: 12.5,
    accepted: false,
    state: 'pending',
    ...over,
  };
}

export function room(over: Record<string, unknown> = {}) {
  return { name: 'disco-3b9e', url: URL_OK, token: tokenFor('disco-3b9e'), ...over };
}

export function status(over: Record<string, unknown> = {}) {
  return {
    ticket: null,
    match: null,
    room: null,
    waiting: { 'remote-work': { casual: 5, 'quick-debate': 2 } },
    formats: [
      { id: 'casual', title: 'Casual conversation', description: 'Talk freely.', kind: 'casual' },
      { id: 'quick-debate', title: 'Quick debate', description: 'Short speeches.', kind: 'debate' },
    ],
    ...over,
  };
}

/** A `debate.state` reply mid-speech. */
export function debateState(over: Record<string, unknown> = {}) {
  return {
    format: 'quick-debate',
    status: 'running',
    phase: { index: 0, name: 'Pro opening', kind: 'speech', sides: ['pro'], seconds: 120 },
    prep: null,
    floor: ['u-pro'],
    deadline: 1767225600500,
    grace_until: 1767225610500,
    remaining_ms: null,
    paused: false,
    pause_reasons: [],
    absent: {},
    prep_left_ms: { 'u-pro': 30000, 'u-con': 30000 },
    ready: ['u-pro', 'u-con'],
    starts_at: null,
    sides: { 'u-pro': 'pro', 'u-con': 'con' },
    outcome: null,
    winner: null,
    seq: 7,
    ...over,
  };
}

/** The same state as the moderator's attributes (agent/state.py `attributes`). */
export function asAttributes(state: Record<string, unknown>, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(state)) {
    if (k === 'seq' || v === null) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return { ...out, ...extra };
}

export const bytes = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));
