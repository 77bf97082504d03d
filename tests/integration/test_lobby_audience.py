"""The lobby agent and the audience: a debate's room opens to an audience (public in Postgres,
a participant limit with room for spectators) only when both debaters allow it, never for a
casual talk; and someone who left their room and asks to queue again gives their seat up
instead of being told they are busy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.lobby_rooms import MAX_PARTICIPANTS
from api.keeper import Keeper
from lobby.db.schema import discussions, users
from lobby.settings import Settings
from tests.support.lobby_clients import LobbyUser, add_users, connected
from tests.support.wait import eventually


async def _allow(engine: AsyncEngine, people: list[LobbyUser]) -> None:
    async with engine.begin() as conn:
        ids = [uuid.UUID(p.id) for p in people]
        await conn.execute(users.update().where(users.c.id.in_(ids)).values(allow_audience=True))


async def _matched(a: LobbyUser, b: LobbyUser, join: dict[str, Any], sides: bool) -> str:
    """Both join and accept; returns the room's name once both have it."""
    await a.call("lobby.join", {**join, "side": "pro"} if sides else join)
    await b.call("lobby.join", {**join, "side": "con"} if sides else join)
    match_id = (await a.event("proposed"))["match_id"]
    for who in (a, b):
        await who.call("lobby.respond", {"match_id": match_id, "accept": True})
    name = (await a.room_grant())["name"]
    assert (await b.room_grant())["name"] == name
    return name


@pytest.fixture
async def rooms(lkapi: api.LiveKitAPI) -> AsyncIterator[list[str]]:
    """Rooms a test opened, closed after it."""
    opened: list[str] = []
    yield opened
    for name in opened:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=name))


async def _public(engine: AsyncEngine, room: str) -> bool:
    async with engine.connect() as conn:
        query = sa.select(discussions.c.public).where(discussions.c.room == room)
        return bool((await conn.execute(query)).scalar_one())


async def _limit(lkapi: api.LiveKitAPI, room: str) -> int:
    found = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return next(r.max_participants for r in found.rooms if r.name == room)


@pytest.mark.parametrize(
    ("fmt", "allowing", "public"),
    [("quick-debate", 2, True), ("quick-debate", 1, False), ("casual", 2, False)],
)
async def test_a_room_opens_to_an_audience_only_when_both_debaters_allow_it(
    lobby: Keeper,
    settings: Settings,
    db_engine: AsyncEngine,
    lkapi: api.LiveKitAPI,
    topic: str,
    rooms: list[str],
    fmt: str,
    allowing: int,
    public: bool,
) -> None:
    people = await add_users(db_engine, 2)
    await _allow(db_engine, people[:allowing])
    async with connected(settings, people) as (a, b):
        room = await _matched(a, b, {"topic": topic, "format": fmt}, sides=fmt != "casual")
        rooms.append(room)
        await eventually(lambda: _room_row(db_engine, room), "the discussion row")
        assert await _public(db_engine, room) is public
        extra = settings.audience_limit if public else 0
        assert await _limit(lkapi, room) == MAX_PARTICIPANTS + extra


async def _room_row(engine: AsyncEngine, room: str) -> bool:
    async with engine.connect() as conn:
        query = sa.select(discussions.c.id).where(discussions.c.room == room)
        return (await conn.execute(query)).first() is not None


async def test_joining_again_after_leaving_the_room_gives_the_seat_up(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str, rooms: list[str]
) -> None:
    people = await add_users(db_engine, 2)
    join = {"topic": topic, "format": "casual"}
    async with connected(settings, people) as (a, b):
        room_name = await _matched(a, b, join, sides=False)
        rooms.append(room_name)
        grant = await a.room_grant()
        talk = rtc.Room()
        await talk.connect(grant["url"], grant["token"])
        try:
            # Still in the room: asking to queue again is refused, nothing changes.
            assert await a.fails("lobby.join", join) == "busy"
            assert (await a.call("lobby.status"))["room"]["name"] == room_name
        finally:
            await talk.disconnect()

        async def gone() -> bool:
            return await a.fails("lobby.join", join, allowed=True) == ""

        # Left the room (seconds after the match began): the next join gives the seat up and
        # queues, with no room any more; the moderator ends the talk as the format says.
        await eventually(gone, "the seat given up", every=0.5)
        status = await a.call("lobby.status")
        assert status["room"] is None and status["ticket"]["topic"] == topic
        await a.call("lobby.leave")
