"""Every lobby RPC method, fed random, oversized, deeply nested and wrong-typed payloads by
hypothesis: the agent answers with a DISCO code (never `internal`, 2099) or succeeds, and a
refused command leaves the lobby's Redis state exactly as it was.

Hypothesis runs in a worker thread and hands each call to the test's event loop, where the
LiveKit client lives."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from livekit import api, rtc
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.settings import Settings
from lobby.store import open_redis
from scripts.stack import Stack
from tests.integration.conftest import own_lobby
from tests.support.lobby_clients import LobbyUser, add_users, connected, rpc_summary

FIELDS = {
    "lobby.join": ("topic", "format", "side"),
    "lobby.respond": ("match_id", "accept"),
    "lobby.leave": (),
    "lobby.status": (),
}
# Examples per method: the commands other than lobby.status stay under the rate limit (30 per
# 10 s), so each example reaches the command itself.
EXAMPLES = {"lobby.join": 25, "lobby.respond": 20, "lobby.leave": 15, "lobby.status": 25}
# LiveKit refuses RPC payloads above 15 KiB before they leave the client.
MAX_RPC = 15 * 1024 - 64

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def payloads(method: str, topic: str) -> st.SearchStrategy[str]:
    near = {
        "topic": st.sampled_from([topic, topic.upper(), "no-such-topic", "", "x" * 65]),
        "format": st.sampled_from(["casual", "quick-debate", "oxford", "no-such", ""]),
        "side": st.sampled_from(["pro", "con", "any", "maybe", None]),
        "match_id": st.sampled_from(["0" * 32, "f" * 64, "x" * 65, ""]),
        "accept": st.sampled_from([True, False, "yes", 1]),
    }
    own = FIELDS[method]
    # The method's own fields, with values near the valid ones or of any type: these get past
    # the shape checks to the checks of meaning (unknown topic, wrong side, no match...).
    whole = st.fixed_dictionaries({f: near[f] for f in own}).map(json.dumps)
    some = st.fixed_dictionaries({}, optional={f: near[f] | JSON for f in own}).map(json.dumps)
    keys = st.sampled_from([*own, "extra"]) | st.text(max_size=8)
    shaped = st.dictionaries(keys, JSON, max_size=4).map(json.dumps)
    depth = st.integers(min_value=50, max_value=MAX_RPC // 6)
    nested = depth.map(lambda d: "[" * d + "]" * d) | depth.map(
        lambda d: '{"a":' * d + "1" + "}" * d
    )
    big = st.integers(min_value=4 * 1024, max_value=MAX_RPC - 32).map(
        lambda n: json.dumps({own[0] if own else "x": "x" * n})
    )
    anything = st.one_of(shaped, JSON.map(json.dumps), st.text(max_size=200), nested, big)
    # Half of the examples whole: hypothesis's own choice among branches favours the first
    # few simple ones, which would leave the checks of meaning rarely reached.
    return st.integers(0, 3).flatmap(lambda n: (whole, whole, some, anything)[n])


async def _state(redis: Redis, prefix: str) -> dict[str, bytes | None]:
    """Every lobby key under the prefix with its value, but those that move by design whatever
    anyone sends: the per-user command counters (every command), the agents' heartbeats (every
    second) and the keeper's lease (every few seconds)."""
    found: dict[str, bytes | None] = {}
    async for key in redis.scan_iter(match=f"{{{prefix}}}:*"):
        name = key if isinstance(key, str) else key.decode()
        if not any(part in name for part in (":rate:", ":beat:", ":lease:")):
            found[name] = await redis.dump(name)
    return found


async def _try(
    who: LobbyUser, method: str, payload: str, redis: Redis, prefix: str, seen: Counter[str]
) -> None:
    before = await _state(redis, prefix)
    try:
        await who.call(method, payload)
        seen[f"{method} ok"] += 1
    except rtc.RpcError as e:
        seen[f"{method} {e.code}"] += 1
        assert 2000 <= e.code < 2099, (method, payload[:200], e.code, e.message)
        assert json.loads(e.data or "{}")["error"], e.data
        assert await _state(redis, prefix) == before, (method, payload[:200], e.code)


def _examples(method: str, topic: str, run: Callable[[str], None]) -> Callable[[], None]:
    @examples(
        max_examples=EXAMPLES[method],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=payloads(method, topic))
    # Always among them: deeply nested (past Python's recursion limit) and oversized.
    @example(payload="[" * 2400 + "]" * 2400)
    @example(payload='{"a":' * 2400 + "1" + "}" * 2400)
    @example(payload=json.dumps({"x": "x" * (MAX_RPC - 32)}))
    def check(payload: str) -> None:
        run(payload)

    return check


@pytest.mark.timeout(600)
async def test_no_payload_breaks_a_lobby_command(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine, topic: str
) -> None:
    # A lobby of its own: nobody else's keys move under its prefix meanwhile, and a flood
    # limit this many calls in a row never reach.
    async with own_lobby(stack, settings, lkapi, "fuzz", flood_rpc_rate=10_000) as (mine, _, _):
        people = await add_users(db_engine, len(FIELDS), "fuzz")
        redis = open_redis(mine.redis_url)
        loop = asyncio.get_running_loop()
        seen: Counter[str] = Counter()
        try:
            async with connected(mine, people) as clients:
                for who, method in zip(clients, FIELDS, strict=True):

                    def run(payload: str, who: LobbyUser = who, method: str = method) -> None:
                        call = _try(who, method, payload, redis, mine.redis_prefix, seen)
                        asyncio.run_coroutine_threadsafe(call, loop).result(60)

                    await asyncio.to_thread(_examples(method, topic, run))
                print(f"lobby command timings: {rpc_summary(clients)}")
        finally:
            await redis.aclose()
            print(f"lobby command outcomes: {dict(sorted(seen.items()))}")
