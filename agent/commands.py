"""The moderator's RPC commands (docs/PROTOCOL.md, "Debate"): parse, check who calls, call.

Debaters: debate.ready, debate.yield, debate.state, debate.propose, debate.respond.
Moderators (`mod-<user id>` with the moderator role in Postgres): debate.pause,
debate.resume, debate.extend, debate.skip, debate.end, debate.mute. Anyone else calling a
moderator command gets 2101 and nothing changes. Every reply is the debate's state.

A payload is checked before anything else: too large, not JSON, nested past the parser's
depth, not an object, or carrying a field the method does not take, it is refused with 2001
(`invalid_payload`, naming the field), never with the internal error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livekit import rtc

from agent.clock import DebateClock
from agent.clock_types import Event
from agent.errors import AgentError, Forbidden, InvalidPayload
from agent.rpc import Invocation, rpc_method
from lobby.errors import DiscoError
from lobby.formats import Side

if TYPE_CHECKING:
    from agent.moderator import Moderator

logger = logging.getLogger("disco.moderator.commands")

Body = dict[str, Any]
Handler = Callable[["Moderator", str, Body], Awaitable[Body]]

MAX_EXTEND = 600
# A command is a few dozen bytes; LiveKit lets 15 KiB through, the parser need not see it.
MAX_PAYLOAD = 4 * 1024
# How much of an unexpected field's name an error repeats (its message must stay short).
_SHOWN = 16


@dataclass(frozen=True, slots=True)
class Command:
    handler: Handler
    fields: tuple[str, ...] = ()  # what its payload may hold
    moderator: bool = False  # only for someone with the moderator role


def register(local: rtc.LocalParticipant, moderator: Moderator) -> None:
    for method, command in COMMANDS.items():
        local.register_rpc_method(method, _wrap(moderator, command))


def _wrap(moderator: Moderator, command: Command) -> Invocation:
    async def run(data: rtc.RpcInvocationData) -> str:
        moderator.heard_from(data.caller_identity)
        # Commands are rare (a few per debate) and say what the room went through.
        told = {"room": moderator.room.name, "method": data.method}
        if data.method != "debate.state":
            logger.info("command", extra=told)
        try:
            body = parse(data.payload, command.fields)
            if command.moderator:
                await _moderator_only(moderator, data.caller_identity)
            reply = await command.handler(moderator, data.caller_identity, body)
        except DiscoError as e:
            logger.info("command refused", extra={**told, "code": e.code})
            raise
        return json.dumps(reply, separators=(",", ":"))

    def unexpected(data: rtc.RpcInvocationData, _: Exception) -> DiscoError:
        logger.exception("command failed", extra={"method": data.method})
        return AgentError()

    return rpc_method(run, unexpected)


def parse(text: str, fields: tuple[str, ...]) -> Body:
    """The payload as an object holding only `fields` (their values are checked by each
    command); an empty payload is an empty object."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD:
        raise InvalidPayload(f"the payload is larger than {MAX_PAYLOAD} bytes")
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        raise InvalidPayload("the payload is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidPayload("the payload must be a JSON object")
    for key in body:
        if key not in fields:
            # Escaped and cut short: the name is the caller's, any length, any characters.
            raise InvalidPayload(
                f"unexpected field {json.dumps(key[:_SHOWN])}", field=key[: _SHOWN * 4]
            )
    return body


async def _moderator_only(m: Moderator, caller: str) -> None:
    if not await m.is_moderator(caller):
        raise Forbidden("only a moderator may do that")


def _clock(action: Callable[[DebateClock, float], list[Event]]) -> Handler:
    """A command that is one call on the clock, as whoever calls it."""

    async def run(m: Moderator, caller: str, _: Body) -> Body:
        return await m.change(caller, lambda now: action(m.clock, now))

    return run


def _as_debater(action: Callable[[DebateClock, Side, float], list[Event]]) -> Handler:
    """A command that is one call on the clock, for the caller's side."""

    async def run(m: Moderator, caller: str, _: Body) -> Body:
        side = m.side_of(caller)
        return await m.change(caller, lambda now: action(m.clock, side, now))

    return run


async def _state(m: Moderator, caller: str, _: Body) -> Body:
    return m.state_for(caller)


async def _propose(m: Moderator, caller: str, _: Body) -> Body:
    return await m.propose(caller)


async def _respond(m: Moderator, caller: str, body: Body) -> Body:
    accept = body.get("accept")
    if not isinstance(accept, bool):
        raise InvalidPayload("'accept' must be true or false", field="accept")
    return await m.respond(caller, accept)


async def _extend(m: Moderator, caller: str, body: Body) -> Body:
    seconds = body.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 < seconds <= MAX_EXTEND:
        raise InvalidPayload(
            f"'seconds' must be a whole number from 1 to {MAX_EXTEND}", field="seconds"
        )
    return await m.change(caller, lambda now: m.clock.extend(seconds, now))


async def _mute(m: Moderator, caller: str, body: Body) -> Body:
    identity = body.get("identity")
    if not isinstance(identity, str) or not identity:
        raise InvalidPayload("'identity' must be a participant's identity", field="identity")
    muted = await m.mute(identity)
    return {**m.state_for(caller), "muted": muted}


# Debaters' commands, then moderators' (`moderator=True`: refused with 2101 to anyone else).
COMMANDS: dict[str, Command] = {
    "debate.state": Command(_state),
    "debate.ready": Command(_as_debater(DebateClock.ready)),
    "debate.yield": Command(_as_debater(DebateClock.yield_turn)),
    "debate.propose": Command(_propose),
    "debate.respond": Command(_respond, ("accept",)),
    "debate.pause": Command(_clock(DebateClock.pause), moderator=True),
    "debate.resume": Command(_clock(DebateClock.resume), moderator=True),
    "debate.extend": Command(_extend, ("seconds",), moderator=True),
    "debate.skip": Command(_clock(DebateClock.skip), moderator=True),
    "debate.end": Command(_clock(DebateClock.end), moderator=True),
    "debate.mute": Command(_mute, ("identity",), moderator=True),
}
