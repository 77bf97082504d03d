"""The lobby when its servers fail and come back, against the real servers: DISCO's Redis
paused (SIGSTOP) for 15 s or crashed and restarted, Postgres frozen. Each test runs its own
lobby and restores the server in a `finally`.

What must hold: commands fail fast with `unavailable` meanwhile; afterwards a proposal whose
deadline fell in the outage is proposed again with a fresh deadline (the answer already given
kept), nobody earns a strike for it, every waiting ticket is still queued and pairing resumes
within seconds; while Postgres is away, people the lobby knows are still paired, never two who
blocked each other, and the new discussion's row reaches Postgres once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.db import discussion_id
from lobby.db.schema import discussions
from lobby.settings import Settings
from scripts.stack import Stack
from tests.integration.conftest import own_lobby
from tests.support.faults import crashed_redis, paused
from tests.support.lobby_clients import LobbyUser, add_users, block, connected, lobby_store
from tests.support.wait import eventually

OUTAGE = 15.0
pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]


async def _refusal(
    who: LobbyUser, method: str, payload: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any], float]:
    """(error name, data, seconds taken) of a command that must fail."""
    started = time.monotonic()
    try:
        await who.call(method, payload)
    except rtc.RpcError as e:
        data = json.loads(e.data or "{}")
        return data.get("error", ""), data, time.monotonic() - started
    raise AssertionError(f"{method} succeeded during the outage")


async def _pending_and_waiting(
    a: LobbyUser, b: LobbyUser, c: LobbyUser, t1: str, t2: str
) -> tuple[str, dict[str, int]]:
    """a and b matched (a accepted, b not yet), c waiting alone on t2."""
    await c.call("lobby.join", {"topic": t2, "format": "casual"})
    await a.call("lobby.join", {"topic": t1, "format": "casual"})
    await b.call("lobby.join", {"topic": t1, "format": "casual"})
    match_id = (await a.event("proposed"))["match_id"]
    await b.event("proposed")
    await a.call("lobby.respond", {"match_id": match_id, "accept": True})
    return match_id, {w.id: w.last_seq() for w in (a, b, c)}


async def _during(d: LobbyUser) -> None:
    name, data, took = await _refusal(d, "lobby.status")
    print(f"a command during the outage failed in {took:.1f} s with {name}")
    assert name == "unavailable" and data["retry_after"] > 0
    assert took < 12  # the RPC budget (8 s), never the length of the outage


async def _afterwards(
    settings: Settings,
    people: tuple[LobbyUser, LobbyUser, LobbyUser, LobbyUser],
    match_id: str,
    seqs: dict[str, int],
    t2: str,
    back: float,
) -> None:
    a, b, c, d = people
    again_a = await a.event("proposed", 30, after=seqs[a.id])
    again_b = await b.event("proposed", 30, after=seqs[b.id])
    assert again_a["match_id"] == again_b["match_id"] == match_id
    assert again_a["accepted"] is True and again_b["accepted"] is False
    assert again_b["expires_at"] > time.time()
    # The answer kept: b's accept alone starts the match.
    reply = await b.call("lobby.respond", {"match_id": match_id, "accept": True})
    assert reply["status"] == "starting"
    async with lobby_store(settings) as store:
        for who in (a, b):
            assert await store.redis.get(f"{{{settings.redis_prefix}}}:strikes:{who.id}") is None
        ticket = await store.ticket(c.id)
        assert ticket is not None and await store.position(ticket) is not None
    await d.call("lobby.join", {"topic": t2, "format": "casual"})
    paired = await d.event("proposed", 30)
    took = time.monotonic() - back
    print(f"a new pair was proposed {took:.1f} s after the server was back")
    assert (await c.event("proposed", 5, after=seqs[c.id]))["match_id"] == paired["match_id"]
    assert took < 20  # 5 s wanted; a wide margin on a busy machine
    room = (await a.event("ready", 30))["room"]
    assert (await b.event("ready", 30))["room"] == room


Outage = Callable[[], Awaitable[None]]


@pytest.fixture(name="survive")
def survive_fixture(
    stack: Stack,
    settings: Settings,
    lkapi: api.LiveKitAPI,
    db_engine: AsyncEngine,
    topic_pool: list[str],
) -> Callable[[str, Outage], Awaitable[None]]:
    """Runs a Redis outage (a coroutine that ends when Redis is back) through a lobby of its
    own with a pending match and people waiting, and checks what must hold meanwhile and
    afterwards."""
    if stack.redis is None:
        pytest.skip("REDIS_URL names a Redis these tests may not stop")
    topics = (topic_pool.pop(), topic_pool.pop())

    async def survive(name: str, outage: Outage) -> None:
        async with own_lobby(stack, settings, lkapi, name, accept_timeout=6) as (mine, _, _k):
            people = await add_users(db_engine, 4)
            async with connected(mine, people) as (a, b, c, d):
                match_id, seqs = await _pending_and_waiting(a, b, c, *topics)
                # a's deadline is 6 s away: it falls inside the outage.
                await asyncio.gather(outage(), _during(d))
                back = time.monotonic()
                await _afterwards(mine, (a, b, c, d), match_id, seqs, topics[1], back)

    return survive


async def test_a_paused_redis_costs_nobody_anything(
    stack: Stack, survive: Callable[[str, Outage], Awaitable[None]]
) -> None:
    async def pause() -> None:
        with paused(stack, "redis"):
            await asyncio.sleep(OUTAGE)

    await survive("pause", pause)


async def test_a_restarted_redis_costs_nobody_anything(
    stack: Stack, survive: Callable[[str, Outage], Awaitable[None]]
) -> None:
    async def restart() -> None:
        async with crashed_redis(stack):
            await asyncio.sleep(8)

    await survive("restart", restart)


# -- Postgres ------------------------------------------------------------------------------------
async def test_the_lobby_pairs_through_a_postgres_outage_and_never_ignores_a_block(
    stack: Stack,
    settings: Settings,
    lkapi: api.LiveKitAPI,
    db_engine: AsyncEngine,
    topic_pool: list[str],
) -> None:
    t1, t2 = topic_pool.pop(), topic_pool.pop()
    async with own_lobby(stack, settings, lkapi, "pg") as (mine, _, _k):
        x, y, p, q, stranger = await add_users(db_engine, 5)
        await block(db_engine, x, y)
        async with connected(mine, [x, y, p, q, stranger]):
            # The lobby has seen everyone but the stranger: x and y wait (never paired: they
            # blocked each other); p and q joined once, alone, and left.
            for who, topic in ((p, t2), (q, t1)):
                join = {"topic": topic, "format": "quick-debate", "side": "pro"}
                await who.call("lobby.join", join)
                await who.call("lobby.leave")
            for who in (x, y):
                await who.call("lobby.join", {"topic": t1, "format": "casual"})
            with paused(stack, "postgres"):
                name, _, took = await _refusal(
                    stranger, "lobby.join", {"topic": t2, "format": "casual"}
                )
                print(f"an unknown person's join failed in {took:.1f} s with {name}")
                assert name == "unavailable" and took < 12
                started = time.monotonic()
                await p.call("lobby.join", {"topic": t2, "format": "casual"})
                await q.call("lobby.join", {"topic": t2, "format": "casual"})
                again = (await p.event("proposed", 30))["match_id"]
                await p.call("lobby.respond", {"match_id": again, "accept": True})
                await q.call("lobby.respond", {"match_id": again, "accept": True})
                room = (await p.event("ready", 30))["room"]
                print(f"paired and opened without Postgres in {time.monotonic() - started:.1f} s")
                await asyncio.sleep(max(0.0, 8 - (time.monotonic() - started)))
                assert not x.of_type("proposed") and not y.of_type("proposed")
            await _row_appears(db_engine, again)
            assert not x.of_type("proposed") and not y.of_type("proposed")
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))


async def _row_appears(engine: AsyncEngine, match_id: str, wait: float = 60) -> None:
    query = sa.select(sa.func.count()).where(discussions.c.id == discussion_id(match_id))

    async def written() -> bool:
        # Postgres may still be coming back: a failed query is asked again.
        with contextlib.suppress(Exception):
            async with engine.connect() as conn:
                return bool(await conn.scalar(query))
        return False

    what = "the discussion row kept during the outage reaches Postgres"
    await eventually(written, what, wait, every=1)
