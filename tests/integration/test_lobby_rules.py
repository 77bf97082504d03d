"""Matching rules over the real lobby: declines, leaving, debate sides, blocks, the rematch
cooldown, and the accept timeout (on a lobby of its own with a short limit)."""

from __future__ import annotations

from typing import Any

from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine

from api.keeper import Keeper
from lobby.settings import Settings
from scripts.stack import Stack
from tests.integration.conftest import own_lobby
from tests.support.lobby_clients import LobbyUser, add_users, block, connected

CASUAL = "casual"
DEBATE = "quick-debate"


async def _join(who: LobbyUser, topic: str, fmt: str = CASUAL, side: str | None = None) -> Any:
    payload: dict[str, str] = {"topic": topic, "format": fmt}
    if side is not None:
        payload["side"] = side
    return await who.call("lobby.join", payload)


async def _proposed_pair(a: LobbyUser, b: LobbyUser) -> str:
    pa, pb = await a.event("proposed"), await b.event("proposed")
    assert pa["match_id"] == pb["match_id"]
    return str(pa["match_id"])


async def _cancelled(who: LobbyUser) -> tuple[str, bool]:
    """Why `who`'s match was cancelled, and whether `who` is back in the queue."""
    told = await who.event("cancelled")
    return told["reason"], told["requeued"]


async def _waiting(who: LobbyUser) -> Any:
    status = await who.call("lobby.status")
    assert status["match"] is None
    return status["ticket"]


async def test_decline_drops_the_decliner_and_puts_the_partner_at_the_head(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 4)
    y, c0, x, c3 = people
    await block(db_engine, y, c0)
    async with connected(settings, people):
        await _join(y, topic, DEBATE, "pro")
        await _join(c0, topic, DEBATE, "con")
        await _join(x, topic, DEBATE, "pro")
        # c0 cannot meet y (blocked), so x is proposed though y waited longer.
        match_id = await _proposed_pair(c0, x)
        assert (await c0.respond(match_id, False))["status"] == "declined"
        assert await _cancelled(c0) == ("declined", False)
        assert await _cancelled(x) == ("declined", True)
        assert await _waiting(c0) is None
        assert (await _waiting(x))["position"] == 0
        # x is back at the head, ahead of y: the next con meets x.
        after = x.last_seq()
        await _join(c3, topic, DEBATE, "con")
        proposal = await x.event("proposed", after=after)
        assert proposal["partner"]["display_name"] == c3.name and proposal["side"] == "pro"
        assert (await _waiting(y))["position"] == 0 and not y.of_type("proposed")


async def test_leaving_or_disconnecting_while_pending_requeues_the_partner(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 4)
    async with connected(settings, people) as (a, b, c, d):
        await _join(a, topic)
        await _join(b, topic)
        await _proposed_pair(a, b)
        assert await a.call("lobby.leave") == {"left": True}
        assert await _cancelled(b) == ("partner_left", True)
        assert await _waiting(a) is None and (await _waiting(b))["position"] == 0
        await b.call("lobby.leave")
        await _join(c, topic)
        await _join(d, topic)
        await _proposed_pair(c, d)
        await d.aclose()
        assert await _cancelled(c) == ("partner_left", True)
        assert (await _waiting(c))["position"] == 0


async def test_debates_pair_opposite_sides(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 5)
    async with connected(settings, people) as (p1, p2, c1, any1, any2):
        await _join(p1, topic, DEBATE, "pro")
        reply = await _join(p2, topic, DEBATE, "pro")
        assert reply["ticket"]["waiting"] == 2 and reply["ticket"]["position"] == 1
        await _join(c1, topic, DEBATE, "con")
        await _proposed_pair(p1, c1)
        assert (await p1.event("proposed"))["side"] == "pro"
        assert (await c1.event("proposed"))["side"] == "con"
        await p2.call("lobby.leave")
        await _join(any1, topic, DEBATE)
        await _join(any2, topic, DEBATE, "any")
        await _proposed_pair(any1, any2)
        sides = {(await w.event("proposed"))["side"] for w in (any1, any2)}
        assert sides == {"pro", "con"}
        assert not p2.of_type("proposed")


async def test_a_blocked_pair_is_never_matched(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 3)
    a, b, c = people
    await block(db_engine, b, a)
    async with connected(settings, people):
        await _join(a, topic)
        await _join(b, topic)
        await _join(c, topic)
        await _proposed_pair(a, c)
        assert (await _waiting(b))["position"] == 0
        assert not b.of_type("proposed")


async def test_no_rematch_within_the_cooldown(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, lkapi: api.LiveKitAPI, topic: str
) -> None:
    people = await add_users(db_engine, 3)
    async with connected(settings, people) as (a, b, c):
        await _join(a, topic)
        await _join(b, topic)
        match_id = await _proposed_pair(a, b)
        for who in (a, b):
            await who.respond(match_id, True)
        room = (await a.event("ready"))["room"]
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
        # The room is gone, so both may queue again; they must not meet a second time.
        await _join(a, topic)
        await _join(b, topic)
        assert (await _waiting(b))["waiting"] == 2
        after = a.last_seq()
        await _join(c, topic)
        proposal = await a.event("proposed", after=after)
        assert proposal["partner"]["display_name"] == c.name
        assert (await _waiting(b))["position"] == 0


async def test_timeout_drops_the_silent_one_and_requeues_who_accepted(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine, topic: str
) -> None:
    async with own_lobby(stack, settings, lkapi, "timeout", accept_timeout=2) as (mine, _, _k):
        people = await add_users(db_engine, 2)
        async with connected(mine, people) as (a, b):
            await _join(a, topic)
            await _join(b, topic)
            match_id = await _proposed_pair(a, b)
            assert (await a.respond(match_id, True))["status"] == "accepted"
            assert await _cancelled(a) == ("expired", True)
            assert await _cancelled(b) == ("expired", False)
            assert await b.fails("lobby.respond", {"match_id": match_id, "accept": True}) in (
                "not_queued",
                "unknown_match",
            )
            assert (await _waiting(a))["position"] == 0 and await _waiting(b) is None
