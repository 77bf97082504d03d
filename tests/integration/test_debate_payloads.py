"""Any payload to any debate command, against a real moderator in a real room: the reply is
the debate's state or one of DISCO's error codes (docs/PROTOCOL.md), never the internal
error, and a refused command leaves the debate as it was.

The debate is under way and paused by a moderator, so its state holds still between calls.
Each method is called by whoever can get furthest with it without ending the test's debate:
the debater commands by a debater, pause/resume/extend/mute by the moderator, skip and end by
a plain user with a `mod-` identity (the payload is checked before the role, and a valid one
from the moderator would move the debate on or end it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit import rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.settings import Settings
from tests.integration import debate_room
from tests.integration.debate_client import MODERATOR, Client
from tests.integration.debate_room import debate

# This module's worker and engine (the fixtures `debate_settings`, `debate_worker`, `engine`).
_settings = debate_room.settings_fixture
_worker = debate_room.worker_fixture
_engine = debate_room.engine_fixture

FIELDS: dict[str, tuple[str, ...]] = {
    "debate.state": (),
    "debate.ready": (),
    "debate.yield": (),
    "debate.propose": (),
    "debate.respond": ("accept",),
    "debate.pause": (),
    "debate.resume": (),
    "debate.extend": ("seconds",),
    "debate.skip": (),
    "debate.end": (),
    "debate.mute": ("identity",),
}
CALLER = {
    "debate.pause": "moderator",
    "debate.resume": "moderator",
    "debate.extend": "moderator",
    "debate.mute": "moderator",
    "debate.skip": "stranger",
    "debate.end": "stranger",
}
DISCO_CODES = {2001, 2101, 2102, 2103, 2104}  # never 2199 / 2099 (internal)
RETRY = {1501, 1505}  # LiveKit lost the request on the way: the protocol says call again
LIVEKIT_MAX = 15_000  # bytes a request may have, a little under LiveKit's 15 KiB

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _nested(depth: int, key: str) -> str:
    return json.dumps({key: None}).replace("null", "[" * depth + "]" * depth)


def payloads(method: str, identities: list[str]) -> st.SearchStrategy[str]:
    fields = FIELDS[method]
    keys = st.sampled_from([*fields, "extra", "__proto__"]) | st.text(max_size=12)
    values = JSON | st.sampled_from(identities) | st.integers(-(2**70), 2**70)
    objects = st.dictionaries(keys, values, max_size=4).map(json.dumps)
    key = st.sampled_from([*fields, "x"])
    return st.one_of(
        st.text(max_size=40),  # anything at all, JSON or not
        JSON.map(json.dumps),  # JSON, mostly not an object
        objects,  # the method's fields with any values, and others
        st.builds(_nested, st.integers(1, 7000), key),  # past the parser's depth, or the size
        st.integers(4097, LIVEKIT_MAX).map(lambda n: json.dumps({"x": "a" * n})),  # oversized
        st.sampled_from(['{"\\ud800": 1}', '{"a":1,"a":2}', "[]", "null", '"{}"', "{" * 2000]),
    )


async def _call(client: Client, method: str, payload: str) -> dict[str, Any] | int:
    """The reply, or the error code the moderator answered with."""
    for attempt in range(3):
        try:
            reply = await client.room.local_participant.perform_rpc(
                destination_identity=MODERATOR, method=method, payload=payload
            )
        except rtc.RpcError as e:
            if e.code in RETRY and attempt < 2:
                continue
            return e.code
        result: dict[str, Any] = json.loads(reply)
        return result
    raise AssertionError("unreachable")


async def _state(moderator: Client) -> dict[str, Any]:
    """The debate's state, paused again if a valid `debate.resume` let it run."""
    state = await moderator.call("debate.state")
    if not state["paused"]:
        state = await moderator.call("debate.pause")
    return {k: v for k, v in state.items() if k != "seq"}


async def test_no_payload_reaches_an_internal_error_or_changes_a_refused_command(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with debate(debate_settings, engine, "test-long", mic=False) as d:
        moderator = await d.join(d.seeded.moderator, mic=False)
        stranger = await d.join(d.seeded.impostor, mic=False)
        callers = {"moderator": moderator, "stranger": stranger}
        await d.pro.call("debate.ready")
        await d.con.call("debate.ready")
        await d.pro.wait_event("phase", index=0)
        await moderator.call("debate.pause")
        identities = [d.pro.identity, d.con.identity, moderator.identity, stranger.identity, ""]
        loop = asyncio.get_running_loop()

        def run(coro: Coroutine[Any, Any, Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

        for method in FIELDS:
            caller = callers.get(CALLER.get(method, ""), d.pro)
            check = _property(method, caller, moderator, identities, run)
            # Hypothesis drives the calls from a thread; the room's clients stay on this loop.
            await asyncio.to_thread(check)


def _property(
    method: str,
    caller: Client,
    moderator: Client,
    identities: list[str],
    run: Callable[[Coroutine[Any, Any, Any]], Any],
) -> Callable[[], None]:
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(payload=payloads(method, identities))
    def check(payload: str) -> None:
        before = run(_state(moderator))
        reply = run(_call(caller, method, payload))
        if isinstance(reply, int):
            assert reply in DISCO_CODES, (method, payload[:200], reply)
            assert run(_state(moderator)) == before, (method, payload[:200])
        else:
            assert "status" in reply, (method, payload[:200], reply)

    return check


async def test_a_field_a_command_does_not_take_is_refused_by_name(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with debate(debate_settings, engine, "test-long", mic=False) as d:
        moderator = await d.join(d.seeded.moderator, mic=False)
        await d.pro.call("debate.ready")
        await d.con.call("debate.ready")
        await d.pro.wait_event("phase", index=0)
        await moderator.call("debate.pause")
        before = await _state(moderator)
        valid = {"accept": True, "seconds": 30, "identity": d.con.identity}
        for method, fields in FIELDS.items():
            caller = moderator if CALLER.get(method) else d.pro
            body = {**{f: valid[f] for f in fields}, "volume": 11}
            try:
                await caller.call(method, body)
            except rtc.RpcError as e:
                assert (e.code, e.data and json.loads(e.data)) == (
                    2001,
                    {"error": "invalid_payload", "field": "volume"},
                ), method
                assert "volume" in e.message
            else:
                raise AssertionError(f"{method} took an unknown field")
        assert await _state(moderator) == before
