// The HTTP API (api/README.md): JSON in and out, errors as
// {"error": {"code", "message"}}. Every failure becomes an ApiError whose message a person
// can read.
import { LOBBY_IDENTITY } from './contract';

export interface User {
  id: string;
  email: string;
  display_name: string;
  bio?: string;
  role?: string;
  /** Whether an audience may watch this person's debates (both debaters must allow it). */
  allow_audience?: boolean;
}

export interface Topic {
  slug: string;
  title: string;
  description: string;
  motion: string;
}

/** A token the API minted for a room (over HTTPS, to its owner only). */
export interface RoomToken {
  url: string;
  room: string;
  /** This connection's identity in the room (in the lobby: an opaque id, not the user id). */
  identity: string;
  token: string;
}

export interface LobbyToken extends RoomToken {
  /** Every LiveKit address a client may connect to: a room anywhere else is refused. */
  livekit_urls: string[];
  /** The lobby agent to send commands to: the one serving this token's lobby shard (`room`). */
  agent_identity: string;
}

/** The lobby token route's reply, or an error when it lacks what the client relies on. */
export function lobbyToken(data: unknown): LobbyToken {
  const t = data as Partial<LobbyToken> | null;
  const urls = Array.isArray(t?.livekit_urls) ? t.livekit_urls.filter((u) => typeof u === 'string') : [];
  if (!t || typeof t.url !== 'string' || typeof t.token !== 'string' || typeof t.room !== 'string') {
    throw new ApiError('DISCO sent an answer this page does not understand.', 0, 'malformed');
  }
  // An API from before the lobby had shards names no agent: it has only the one.
  const agent = typeof t.agent_identity === 'string' && t.agent_identity ? t.agent_identity : LOBBY_IDENTITY;
  return {
    url: t.url,
    room: t.room,
    identity: String(t.identity ?? ''),
    token: t.token,
    livekit_urls: urls,
    agent_identity: agent,
  };
}

export interface HistoryEntry {
  id: string;
  match_id?: string;
  room?: string;
  topic: string;
  topic_title?: string;
  format: string;
  partner: { id: string; display_name: string } | null;
  started_at: string;
  ended_at: string | null;
  duration_seconds?: number | null;
  outcome: string | null;
  side?: string | null;
  /** Whether an audience could watch (both debaters allowed it). */
  public?: boolean;
  /** The audience's votes, when anyone voted. */
  votes?: { pro: number; con: number; winner: 'pro' | 'con' | 'tie' } | null;
}

/** A public debate in progress (`GET /api/live`). */
export interface LiveDebate {
  discussion_id: string;
  topic: string;
  topic_title: string;
  motion: string;
  format: string;
  /** The phase the moderator shows, or its status ('waiting', 'ended'); '' when unknown. */
  phase: string;
  audience: number;
}

/** A spectator's pass to one debate's room: subscribe only, hidden. */
export interface WatchPass extends RoomToken {
  discussion_id: string;
  topic_title: string;
  motion: string;
  format: string;
}

/** The audience's votes on one debate, as a debater or spectator sees them. */
export interface Tally {
  pro: number;
  con: number;
  winner: 'pro' | 'con' | 'tie' | null;
  my_vote: 'pro' | 'con' | null;
  voting_open: boolean;
}

export interface LiveDiscussion {
  id: string;
  room: string;
  topic: string;
  topic_title: string;
  format: string;
  started_at: string;
  participants: { id: string; display_name: string; side: string | null }[];
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

const FRIENDLY: Record<number, string> = {
  401: 'Your session has ended. Please log in again.',
  403: 'You are not allowed to do that.',
  404: 'That could not be found.',
  429: 'Too many attempts. Please wait a little and try again.',
  500: 'Something went wrong on our side. Please try again in a moment.',
  502: 'DISCO is not reachable right now. Please try again in a moment.',
  503: 'DISCO is having trouble right now.',
};

async function request<T>(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('Cannot reach DISCO. Check your connection and try again.', 0, 'network');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    let message = err?.message || FRIENDLY[res.status] || `Request failed (${res.status}).`;
    // Too many attempts, or DISCO waiting for a server it needs: both say when to come back.
    const retry = res.status === 429 || res.status === 503 ? res.headers.get('Retry-After') : null;
    if (retry && !message.includes('minute') && !message.includes('second')) {
      message += ` Try again in ${formatRetry(Number(retry))}.`;
    } else if (res.status === 503 && !err?.message) {
      message += ' Please try again in a moment.';
    }
    throw new ApiError(message, res.status, err?.code ?? `http_${res.status}`);
  }
  return data as T;
}

function formatRetry(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return 'a moment';
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** A line of the room's chat as this client showed it, attached to a report as evidence. */
export interface ChatLine {
  from: string;
  text: string;
  at?: number;
}

/** What a report made in the room sends: the room names the discussion. */
export interface RoomReport {
  room: string;
  reason: string;
  note: string;
  chat: ChatLine[];
  block: boolean;
}

/** A warning a moderator gave this person, shown until they mark it read: when, and why. */
export interface ModeratorWarning {
  id: string;
  at: string;
  reason: string;
}

export interface OwnReport {
  id: string;
  discussion_id: string;
  user_name: string;
  reason: string;
  created_at: string;
  status: string;
  decided_at: string | null;
}

export interface PersonRecord {
  display_name: string;
  created_at: string;
  ban: { until: string | null; permanent: boolean } | null;
  held: boolean;
  reports_filed: number;
  reports_received: number;
  reports_upheld: number;
  ratings: { count: number; average: number | null };
}

export interface ReviewReport {
  id: string;
  discussion_id: string;
  reporter: { id: string | null; display_name: string; deleted: boolean; record: PersonRecord | null };
  reported: { id: string | null; display_name: string; deleted: boolean; record: PersonRecord | null };
  reason: string;
  note: string;
  chat: ChatLine[];
  room_chat: ChatLine[] | null;
  weight: number;
  status: string;
  created_at: string;
  decided_at: string | null;
}

export interface AuditAction {
  id: string;
  at: string;
  actor: { kind: string; id: string | null };
  action: string;
  user_id: string | null;
  report_id: string | null;
  ban: { until: string | null; permanent: boolean } | null;
  reason: string;
}

/** A moderator's decision on a report; a ban lasts `days` (fractions too) or for good. */
export type Decision =
  | { action: 'dismiss' | 'warn'; note: string }
  | { action: 'ban'; note: string; days: number }
  | { action: 'ban'; note: string; permanent: true };

/** Both are required to register, and from older accounts at their next login. */
export const CONSENT = { adult: true, accepts_terms: true } as const;

export const api = {
  register: (email: string, password: string, display_name: string) =>
    request<{ user: User }>('POST', '/api/register', null, { email, password, display_name, ...CONSENT }),
  /** With `consent`, an account made before the rules confirms them (403 terms_required without). */
  login: (email: string, password: string, consent = false) =>
    request<{ access_token: string; expires_in: number; user: User }>('POST', '/api/login', null, {
      email,
      password,
      ...(consent ? CONSENT : {}),
    }),
  deleteMe: (token: string, password: string) => request<unknown>('DELETE', '/api/me', token, { password }),
  me: (token: string) => request<{ user: User } | User>('GET', '/api/me', token),
  updateMe: (token: string, changes: { display_name?: string; bio?: string; allow_audience?: boolean }) =>
    request<{ user: User } | User>('PATCH', '/api/me', token, changes),
  topics: () => request<{ topics: Topic[] }>('GET', '/api/topics', null),
  lobbyToken: async (token: string) => lobbyToken(await request<unknown>('POST', '/api/lobby/token', token, {})),
  /** One page of history, newest first; pass the previous page's `next` for older ones. */
  history: (token: string, before?: string | null) =>
    request<{ discussions?: HistoryEntry[]; history?: HistoryEntry[]; next?: string | null }>(
      'GET',
      before ? `/api/history?before=${encodeURIComponent(before)}` : '/api/history',
      token,
    ),
  rate: (token: string, discussionId: string, score: number, talk_again: boolean) =>
    request<unknown>('POST', `/api/discussions/${encodeURIComponent(discussionId)}/rating`, token, {
      score,
      talk_again,
    }),
  report: (token: string, discussion_id: string, user_id: string, reason: string, note: string) =>
    request<unknown>('POST', '/api/reports', token, { discussion_id, user_id, reason, note }),
  reportInRoom: (token: string, report: RoomReport) => request<unknown>('POST', '/api/reports', token, report),
  myReports: (token: string) => request<{ reports: OwnReport[] }>('GET', '/api/reports', token),
  myWarnings: (token: string) => request<{ warnings: ModeratorWarning[] }>('GET', '/api/me/warnings', token),
  warningRead: (token: string, id: string) =>
    request<unknown>('POST', `/api/me/warnings/${encodeURIComponent(id)}/read`, token, {}),
  reviewQueue: (token: string) => request<{ reports: ReviewReport[] }>('GET', '/api/moderator/reports', token),
  decide: (token: string, id: string, decision: Decision) =>
    request<unknown>('POST', `/api/moderator/reports/${encodeURIComponent(id)}`, token, decision),
  audit: (token: string) => request<{ actions: AuditAction[] }>('GET', '/api/moderator/audit', token),
  liveDiscussions: (token: string) =>
    request<{ discussions: LiveDiscussion[] }>('GET', '/api/moderator/discussions', token),
  moderatorToken: (token: string, id: string) =>
    request<RoomToken>('POST', `/api/moderator/discussions/${encodeURIComponent(id)}/token`, token, {}),
  live: (token: string) => request<{ debates: LiveDebate[] }>('GET', '/api/live', token),
  watch: (token: string, id: string) =>
    request<WatchPass>('POST', `/api/live/${encodeURIComponent(id)}/watch`, token, {}),
  vote: (token: string, id: string, side: 'pro' | 'con') =>
    request<{ votes: Tally }>('POST', `/api/discussions/${encodeURIComponent(id)}/vote`, token, { side }),
  votes: (token: string, id: string) =>
    request<{ votes: Tally }>('GET', `/api/discussions/${encodeURIComponent(id)}/votes`, token),
  block: (token: string, user_id: string) =>
    request<unknown>('POST', '/api/blocks', token, { user_id }),
  unblock: (token: string, user_id: string) =>
    request<unknown>('DELETE', `/api/blocks/${encodeURIComponent(user_id)}`, token),
};

/** `/api/me` may answer `{user}` or the user itself; accept both. */
export function unwrapUser(data: { user: User } | User): User {
  return 'user' in data ? data.user : data;
}

export function historyEntries(data: {
  discussions?: HistoryEntry[];
  history?: HistoryEntry[];
}): HistoryEntry[] {
  return data.discussions ?? data.history ?? [];
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return 'Something went wrong. Please try again.';
}
