"""Errors the agents answer commands with; each knows its RPC code (docs/PROTOCOL.md).

    AgentError                 2199  internal: the agent failed, nothing changed
     ├── InvalidPayload        2001  not JSON, not an object, a field missing or of a wrong type
     ├── Forbidden             2101  a moderator command from someone without the moderator role
     ├── NotADebater           2102  a debater command from someone who is not a debater here
     ├── WrongState            2103  the command does not fit the debate's current state
     └── UnknownParticipant    2104  `debate.mute` named nobody in the room

Pure: no LiveKit import, so the debate clock can raise them. The adapter turns one into
`rtc.RpcError(code, message, json.dumps(data))`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AgentError(Exception):
    code: ClassVar[int] = 2199
    error: ClassVar[str] = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def data(self) -> dict[str, Any]:
        """The RPC error's `data`: the snake_case name plus any details."""
        return {"error": self.error, **self.details}


class InvalidPayload(AgentError):
    code = 2001
    error = "invalid_payload"


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
