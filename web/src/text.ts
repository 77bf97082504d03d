// What a person reads: the sentences for DISCO's error codes, cancelled matches, outcomes and
// lost connections. Only wording lives here; which code means what is contract.ts.
import { DisconnectReason } from 'livekit-client';
import { duration } from './time';

// The client's own sentence for each code. The agents' messages are used instead only for the
// codes whose message explains the case at hand (which field was wrong, why the debate
// cannot do that now); every other code means one thing, said here the same way every time.
const CODE_TEXT: Readonly<Record<number, string>> = {
  2001: 'That request was not understood.',
  2002: 'That topic does not exist any more. Please pick another.',
  2003: 'That format is not available. Please pick another.',
  2004: 'Please pick a side that fits this format.',
  2005: 'You are not in the queue any more.',
  2006: 'That match has already ended or expired.',
  2007: 'That match belongs to someone else.',
  2008:
    'You declined, left or let run out several proposals in a row, so you wait a while before ' +
    'joining again; each further one makes the wait longer.',
  2009: 'You are already in a match.',
  2010: 'Too many requests. Please slow down a little.',
  2011: 'This connection to the lobby has expired. Connect again to carry on.',
  2012: 'You opened DISCO in another tab or window, so this one left the lobby.',
  2013: 'This page sent the lobby too many messages, so it was let out of the lobby for a while.',
  2014: 'Your account is banned or held for review, so you cannot be matched now.',
  2098: 'DISCO is having trouble; try again in a moment.',
  2099: 'The matchmaker had a problem. Please try again.',
  2101: 'Only moderators can do that.',
  2102: 'Only the debaters can do that.',
  2103: 'That cannot be done at this point of the debate.',
  2104: 'That person is not in the room.',
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

/** Codes whose agent message says what exactly was wrong. */
const AGENT_EXPLAINS = new Set([2001, 2103]);

export const FALLBACK_TEXT = 'Something went wrong. Please try again.';
export const MALFORMED_TEXT = 'The DISCO assistant sent an answer this page does not understand.';
export const NOT_CONNECTED_TEXT = 'Not connected. Please wait a moment.';

/** "Ready." from "ready": a message as a sentence. */
export function sentence(m: string): string {
  const t = m.trim();
  const cap = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}

function retryAfter(data: Readonly<Record<string, unknown>>): number | null {
  const r = data.retry_after;
  return typeof r === 'number' && Number.isFinite(r) && r > 0 ? Math.ceil(r) : null;
}

/** The sentence a person reads for a failed RPC: `code` and `message` as the RpcError has them,
 * `data` its parsed `data` (`retry_after` adds when to try again). */
export function errorMessage(code: number, message: string, data: Readonly<Record<string, unknown>>): string {
  const retry = retryAfter(data);
  if (code === 2098) return `DISCO is having trouble; try again in ${retry === null ? 'a moment' : `${retry} s`}.`;
  const own = AGENT_EXPLAINS.has(code) && message.trim() ? sentence(message) : null;
  const text = own ?? CODE_TEXT[code] ?? FALLBACK_TEXT;
  return retry === null ? text : `${text} Try again in ${duration(retry)}.`;
}

/** Why the lobby may call a proposal off (`cancelled` hints), and how each is said. */
export const CANCEL_REASONS = ['declined', 'expired', 'partner_left', 'failed'] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

const CANCEL_TEXT: Readonly<Record<CancelReason, string>> = {
  declined: 'Your partner declined the match.',
  expired: 'Time ran out before both of you accepted.',
  partner_left: 'Your partner left the lobby.',
  failed: 'The room for your talk could not be opened.',
};

/** The sentence for a proposal that the status says is gone. `reason` is what a hint claimed
 * (one of the fixed reasons, or unknown); only the wording depends on it. */
export function cancelNotice(reason: CancelReason | undefined, requeued: boolean): string {
  const base = reason ? CANCEL_TEXT[reason] : 'The match was called off.';
  if (requeued) return `${base} You are back at the front of the queue.`;
  if (reason === 'expired') return `${base} You did not answer in time, so you left the queue.`;
  return `${base} You are no longer in the queue.`;
}

export const OUTCOME_SHORT: Readonly<Record<string, string>> = {
  completed: 'Completed',
  forfeit: 'Forfeit',
  ended_by_moderator: 'Ended by a moderator',
  abandoned: 'Abandoned',
  finished: 'Finished',
  lost: 'Interrupted',
  reported: 'Ended after a report',
};

export const OUTCOME_TEXT: Readonly<Record<string, string>> = {
  completed: 'The debate ran to the end.',
  forfeit: 'The debate ended by forfeit.',
  ended_by_moderator: 'A moderator ended the debate.',
  abandoned: 'The talk was abandoned.',
  finished: 'The talk ended.',
  lost: 'The talk was cut off by a server failure.',
  reported: 'The debate ended after a report; nobody lost by forfeit.',
};

/** The reasons a report may give, in the order a person is offered them. */
export const REPORT_REASONS: Readonly<Record<string, string>> = {
  harassment: 'Harassment or bullying',
  hate: 'Hate speech',
  sexual_content: 'Sexual content',
  violence: 'Violence or threats',
  spam: 'Spam or advertising',
  impersonation: 'Pretending to be someone else',
  underage: 'They seem to be under 18',
  other: 'Something else',
};

/** A moderator's warning as the warned person reads it: the report's reason and the day. */
export function warningText(reason: string, at: Date): string {
  const day = Number.isNaN(at.getTime()) ? 'recently' : `on ${at.toLocaleDateString()}`;
  return (
    `Someone you talked with reported you (${reason.toLowerCase()}), and a moderator upheld the ` +
    `report ${day}. Please keep to DISCO's rules: another upheld report can get you banned.`
  );
}

/** What was decided on a report, as the reporter and moderators read it. */
export const REPORT_STATUS: Readonly<Record<string, string>> = {
  open: 'Waiting for a moderator',
  dismissed: 'Dismissed: no rule was broken',
  warned: 'They were warned',
  banned: 'They were banned',
};

export const MODERATOR_AWAY_TEXT = 'The moderator is away; the clock is stopped until it is back.';

export const LOBBY_LOST_TEXT = 'The connection to the lobby was lost.';
export const LOBBY_DUPLICATE_TEXT = CODE_TEXT[2012];
export const LOBBY_REMOVED_TEXT = 'DISCO let this page out of the lobby. Connect again to carry on.';

export const WATCH_REMOVED_TITLE = 'This debate is closed to you';
export const WATCH_REMOVED_TEXT =
  'The debaters can close their debate to an audience at any time, and they have. Other public debates are on the list.';

/** Why a discussion room's connection ended, as LiveKit tells it. */
export function roomDisconnectText(reason: DisconnectReason | undefined): string {
  switch (reason) {
    case DisconnectReason.CLIENT_INITIATED:
      return 'You left the talk.';
    case DisconnectReason.ROOM_DELETED:
      return 'The room was closed.';
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'You joined this room from another tab, so this one left.';
    default:
      return 'The connection to the room was lost.';
  }
}

/** A discussion room that could not be joined or failed. */
export function roomErrorText(e: Error): string {
  const m = e.message.toLowerCase();
  if (m.includes('token') || m.includes('401') || m.includes('not allowed')) {
    return 'This room could not be opened: your pass for it has expired. Go back to the lobby and find a new match.';
  }
  return 'The room could not be reached. Check your connection; DISCO keeps trying.';
}
