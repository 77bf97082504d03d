// The names this client shares with DISCO's Python agents: who to call, on which topic events
// come, which RPC methods exist and which error codes they answer with. They are copies of the
// Python definitions (the agents, their errors and docs/PROTOCOL.md), kept in this one file so
// that tests/unit/test_web_contract.py can read it and fail when the two drift apart. Keep the
// plain `key: 'value'` layout below: that test reads this file as text.

/** The lobby agent's participant identity (in the lobby room). */
export const LOBBY_IDENTITY = 'disco-lobby';
/** The moderator agent's participant identity (in every discussion room). */
export const DEBATE_IDENTITY = 'disco-moderator';
/** Moderators join discussion rooms as `mod-<random>` named "Moderator" (identities only the API mints). */
export const MODERATOR_PREFIX = 'mod-';

/** Spectators join public debates as `spec-<random>`, hidden (identities only the API mints). */
export const SPECTATOR_PREFIX = 'spec-';
/** The moderator's attribute that holds how many spectators watch. */
export const AUDIENCE_ATTRIBUTE = 'audience';

/** Data packet topics: hints to read the lobby's status or the debate's state. */
export const LOBBY_TOPIC = 'disco.lobby';
export const DEBATE_TOPIC = 'disco.debate';

/** The lobby agent's attribute that says its methods are registered, and its value then. */
export const LOBBY_READY_ATTRIBUTE = 'lobby';
export const LOBBY_READY_VALUE = 'ready';

export const LOBBY_METHODS = {
  join: 'lobby.join',
  leave: 'lobby.leave',
  respond: 'lobby.respond',
  status: 'lobby.status',
} as const;

export const DEBATE_METHODS = {
  state: 'debate.state',
  ready: 'debate.ready',
  yield: 'debate.yield',
  propose: 'debate.propose',
  respond: 'debate.respond',
  pause: 'debate.pause',
  resume: 'debate.resume',
  extend: 'debate.extend',
  skip: 'debate.skip',
  end: 'debate.end',
  mute: 'debate.mute',
} as const;

/** DISCO's RPC error codes and the snake_case names in their `data.error`. */
export const ERROR_NAMES: Readonly<Record<number, string>> = {
  2001: 'invalid_payload',
  2002: 'unknown_topic',
  2003: 'unknown_format',
  2004: 'invalid_side',
  2005: 'not_queued',
  2006: 'unknown_match',
  2007: 'not_your_match',
  2008: 'cooldown',
  2009: 'busy',
  2010: 'rate_limited',
  2011: 'unknown_caller',
  2012: 'replaced',
  2013: 'flooding',
  2014: 'kept_out',
  2098: 'unavailable',
  2099: 'internal',
  2101: 'forbidden',
  2102: 'not_a_debater',
  2103: 'wrong_state',
  2104: 'unknown_participant',
  2199: 'internal',
};

/** The error codes by name, for the places that act on one. */
export const ERROR = {
  cooldown: 2008,
  rateLimited: 2010,
  unknownCaller: 2011,
  replaced: 2012,
  flooding: 2013,
  keptOut: 2014,
  unavailable: 2098,
} as const;
