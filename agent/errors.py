"""Errors the moderator answers commands with; each knows its RPC code (docs/PROTOCOL.md).

    DiscoError (lobby/errors.py)  the base shared with the lobby agent
     ├── InvalidPayload        2001  not JSON, not an object, a field missing or of a wrong type
     │                               (lobby/errors.py: the same error for both agents)
     └── AgentError            2199  internal: the agent failed, nothing changed
          ├── Forbidden        2101  a moderator command from someone without the moderator role
          ├── NotADebater      2102  a debater command from someone who is not a debater here
          ├── WrongState       2103  the command does not fit the debate's current state
          └── UnknownParticipant 2104  `debate.mute` named nobody in the room

Pure: no LiveKit import, so the debate clock can raise them. `agent/rpc.py` turns one into
`rtc.RpcError(code, message, data())`.
"""

from __future__ import annotations

from lobby.errors import DiscoError, InvalidPayload

__all__ = [
    "AgentError",
    "Forbidden",
    "InvalidPayload",
    "NotADebater",
    "UnknownParticipant",
    "WrongState",
]


class AgentError(DiscoError):
    code = 2199
    error = "internal"
    default_message = "the moderator failed; try again"


class Forbidden(AgentError):
    code = 2101
    error = "forbidden"


class NotADebater(AgentError):
    code = 2102
    error = "not_a_debater"


class WrongState(AgentError):
    code = 2103
    error = "wrong_state"


class UnknownParticipant(AgentError):
    code = 2104
    error = "unknown_participant"
