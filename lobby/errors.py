"""The errors DISCO's agents answer RPCs with. Each knows the RPC code and snake_case name it
maps to (docs/PROTOCOL.md); `agent/rpc.py` is the one place that turns one into LiveKit's
`RpcError(code, message, data())`, for the lobby agent and the moderator alike.

    DiscoError                      the base: code, name, message, details, data()
    ├── agent.errors.AgentError     2199 internal (the moderator's, see agent/errors.py)
    └── LobbyError                  2099 internal
        ├── InvalidPayload          2001 invalid_payload (lobby and debate commands alike)
        ├── UnknownTopic            2002 unknown_topic
        ├── UnknownFormat           2003 unknown_format
        ├── InvalidSide             2004 invalid_side
        ├── NotQueued               2005 not_queued
        ├── UnknownMatch            2006 unknown_match
        ├── NotYourMatch            2007 not_your_match
        ├── Cooldown                2008 cooldown        (details: retry_after)
        ├── Busy                    2009 busy
        ├── RateLimited             2010 rate_limited    (details: retry_after)
        ├── UnknownCaller           2011 unknown_caller
        ├── Replaced                2012 replaced
        ├── Flooding                2013 flooding        (details: retry_after)
        ├── KeptOut                 2014 kept_out        (banned, or held for review)
        └── Unavailable             2098 unavailable     (details: retry_after)

Pure: nothing here imports LiveKit.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class DiscoError(Exception):
    code: ClassVar[int] = 2099
    error: ClassVar[str] = "internal"
    default_message: ClassVar[str] = "The agent failed; nothing was changed. Try again."

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details

    def data(self) -> str:
        """The RpcError `data`: JSON with the error name and any details."""
        return json.dumps({"error": self.error, **self.details})


class LobbyError(DiscoError):
    default_message = "The lobby failed; nothing was changed. Try again."


class InvalidPayload(LobbyError):
    code = 2001
    error = "invalid_payload"
    default_message = "The request is not valid JSON of the expected shape."


class UnknownTopic(LobbyError):
    code = 2002
    error = "unknown_topic"
    default_message = "There is no such topic."


class UnknownFormat(LobbyError):
    code = 2003
    error = "unknown_format"
    default_message = "There is no such format."


class InvalidSide(LobbyError):
    code = 2004
    error = "invalid_side"
    default_message = "Side must be pro, con or any, and only for a debate."


class NotQueued(LobbyError):
    code = 2005
    error = "not_queued"
    default_message = "You are not waiting in the lobby; join first."


class UnknownMatch(LobbyError):
    code = 2006
    error = "unknown_match"
    default_message = "That match does not exist or has already ended."


class NotYourMatch(LobbyError):
    code = 2007
    error = "not_your_match"
    default_message = "That match belongs to someone else."


class Cooldown(LobbyError):
    code = 2008
    error = "cooldown"
    default_message = (
        "Several of your matches fell through (declined, left or unanswered); wait a little "
        "before joining again."
    )


class Busy(LobbyError):
    code = 2009
    error = "busy"
    default_message = "You are in a match already and cannot do this now."


class RateLimited(LobbyError):
    code = 2010
    error = "rate_limited"
    default_message = "Too many requests; slow down."


class UnknownCaller(LobbyError):
    code = 2011
    error = "unknown_caller"
    default_message = "This lobby connection is unknown or has expired; ask for a new lobby token."


class Replaced(LobbyError):
    code = 2012
    error = "replaced"
    default_message = "A newer lobby connection of yours replaced this one."


class Flooding(LobbyError):
    code = 2013
    error = "flooding"
    default_message = "Too many messages; you are kept out of the lobby for a while."


class KeptOut(LobbyError):
    code = 2014
    error = "kept_out"
    default_message = "Your account is banned or held for review; you cannot be matched now."


class Unavailable(LobbyError):
    """Redis or Postgres did not answer in time: nothing was done, and asking again after
    `retry_after` seconds may work. Never a hang: every call to them has a timeout."""

    code = 2098
    error = "unavailable"
    default_message = "The lobby cannot reach its storage right now; try again shortly."
