"""Rooms only DISCO opens: LiveKit creates no room on join, so a room token outliving its room
joins nothing, a lobby token cannot open the lobby room, and a discussion room stays open as
long as the moderator holds a seat in it."""

from __future__ import annotations

import secrets
import time

import pytest
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.lobby_rooms import open_room, room_token
from api.keeper import Keeper
from api.tokens import LobbyTokens, new_lobby_identity
from lobby.contract import LOBBY_TIMEOUT
from lobby.db import Database, Topic
from lobby.formats import load_catalogue
from lobby.heartbeats import Heartbeats
from lobby.model import Match, Ticket
from lobby.settings import Settings
from lobby.store import open_redis
from scripts.stack import free_port
from tests.support.livekit import server_api
from tests.support.lobby_clients import add_users
from tests.support.worker import Worker, own_settings


async def _room(lkapi: api.LiveKitAPI, name: str) -> api.Room | None:
    found = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[name]))
    return next((r for r in found.rooms if r.name == name), None)


async def _joins(settings: Settings, token: str) -> bool:
    room = rtc.Room()
    try:
        await room.connect(settings.livekit_url, token)
    except rtc.ConnectError:
        return False
    await room.disconnect()
    return True


def _match(a: str, b: str, topic: str, fmt: str) -> Match:
    now = time.time()
    ta, tb = Ticket(a, "Ann", topic, fmt, None, now), Ticket(b, "Bob", topic, fmt, None, now)
    mid = secrets.token_hex(16)
    return Match.proposal(mid, f"disco-{secrets.token_hex(16)}", ta, None, tb, None, now, now + 20)


async def test_a_token_for_a_finished_room_joins_nothing(
    worker: Worker, settings: Settings, db_engine: AsyncEngine, lkapi: api.LiveKitAPI, topic: str
) -> None:
    a, b = await add_users(db_engine, 2)
    fmt = load_catalogue(settings.formats_file).formats["casual"]
    match = _match(a.id, b.id, topic, fmt.id)
    await open_room(
        lkapi, Database(db_engine).start_discussion, settings, match, Topic(topic, "", ""), fmt
    )
    # Minted as lobby.status mints them, once the room exists.
    tokens = {s.user: room_token(settings, match, s.user, s.ticket.name) for s in match.seats}
    try:
        opened = await _room(lkapi, match.room)
        assert opened is not None, "the lobby agent's room was not created before its tokens"
        # The room outlasts the seat the moderator holds for a person who left.
        assert opened.departure_timeout > fmt.seat_hold
        assert opened.empty_timeout > fmt.seat_hold
        assert await _joins(settings, tokens[a.id])
    finally:
        # As the moderator closes it at the end of the discussion.
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=match.room))
    assert await _room(lkapi, match.room) is None
    # Both tokens are still within their lifetime; neither brings the room back.
    assert not await _joins(settings, tokens[b.id])
    assert not await _joins(settings, tokens[a.id])
    assert await _room(lkapi, match.room) is None


@pytest.mark.usefixtures("stack")
async def test_a_lobby_token_never_creates_the_lobby_room(
    settings: Settings, lkapi: api.LiveKitAPI
) -> None:
    # A lobby of its own, whose agent no worker serves: only the room matters here.
    mine = own_settings(settings, "closed")
    token = LobbyTokens(mine).mint(new_lobby_identity())
    assert not await _joins(mine, token)
    assert await _room(lkapi, mine.lobby_room) is None
    try:
        # Once the keeper has opened the room, the same token joins it.
        await Keeper(mine, lkapi).ensure()
        opened = await _room(lkapi, mine.lobby_room)
        assert opened is not None
        assert opened.empty_timeout == opened.departure_timeout == LOBBY_TIMEOUT
        assert await _joins(mine, token)
    finally:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))


@pytest.mark.usefixtures("stack")
async def test_the_keeper_creates_the_lobby_room_only_while_livekit_lacks_it(
    settings: Settings,
) -> None:
    # LiveKit's CreateRoom moves an existing room to another node whenever its node's stats
    # are a few seconds late, so the keeper's periodic checks must not call it for a room
    # that is there. The calls are counted on the way to the real server.
    mine = own_settings(settings, "kept")  # an agent name no worker serves
    async with server_api(mine) as lk:
        created: list[str] = []
        create = lk.room.create_room

        async def counted(request: api.CreateRoomRequest) -> api.Room:
            created.append(request.name)
            return await create(request)

        lk.room.create_room = counted  # type: ignore[method-assign,assignment]
        keeper = Keeper(mine, lk)
        try:
            await keeper.ensure()
            assert created == [mine.lobby_room]
            await keeper.check()
            await keeper.check()
            assert created == [mine.lobby_room], "an existing lobby room was created again"
            # Gone (deleted, or lost with a LiveKit restart): the next check opens it again.
            await lk.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))
            await keeper.check()
            assert created == [mine.lobby_room] * 2
            assert await _room(lk, mine.lobby_room) is not None
        finally:
            await lk.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))


@pytest.mark.usefixtures("stack")
async def test_a_lobby_room_is_opened_by_livekit_when_its_node_is_not_the_keepers_to_choose(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The keeper puts a lobby room on its shard's node by the id that node's metrics name.
    # Nothing listens at this metrics URL: the id cannot be read, and LiveKit places the room.
    # While the shard's agent beats, the room runs somewhere LiveKit lost track of, and the
    # keeper does not choose the node at all (it does not ask the metrics).
    silent = f"http://127.0.0.1:{free_port()}/metrics"
    mine = own_settings(settings, "unplaced", livekit_metrics_urls=(silent,))
    redis = open_redis(mine.redis_url)
    beats = Heartbeats(redis, mine.redis_prefix)
    unknown = "lobby room placed by LiveKit: node id unknown"
    async with server_api(mine) as lk:
        keeper = Keeper(mine, lk, beats=beats)
        try:
            await keeper.ensure()
            assert await _room(lk, mine.lobby_room) is not None
            assert caplog.messages.count(unknown) == 1
            await lk.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))
            await beats.beat(mine.lobby_room, time.time())
            await keeper.ensure()
            assert await _room(lk, mine.lobby_room) is not None
            assert caplog.messages.count(unknown) == 1, "the node was chosen for a beating agent"
        finally:
            await lk.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))
            await redis.aclose()


async def test_the_keeper_dispatches_when_a_listed_dispatch_is_gone_before_it_deletes_it(
    settings: Settings,
) -> None:
    # While LiveKit runs a lobby room twice, a dispatch the keeper listed may be gone when it
    # deletes it (404 not_found). The listing is held back on its way from the real server so
    # that it names a dispatch deleted since; the keeper must still make its new dispatch.
    mine = own_settings(settings, "stale")  # an agent name no worker serves
    async with server_api(mine) as lk:
        keeper = Keeper(mine, lk)
        room = mine.lobby_room
        try:
            assert await keeper.ensure(), "the first check dispatches the lobby agent"
            listing = lk.agent_dispatch.list_dispatch
            stale = [d for d in await listing(room) if d.agent_name == mine.agent_name]
            assert len(stale) == 1, stale
            await lk.agent_dispatch.delete_dispatch(stale[0].id, room)

            async def held_back(name: str) -> list[api.AgentDispatch]:
                return stale if name == room else await listing(name)

            lk.agent_dispatch.list_dispatch = held_back  # type: ignore[method-assign,assignment]
            await keeper._dispatch(keeper.shards[0])
            lk.agent_dispatch.list_dispatch = listing  # type: ignore[method-assign]
            now = [d for d in await listing(room) if d.agent_name == mine.agent_name]
            assert len(now) == 1 and now[0].id != stale[0].id, now
        finally:
            await lk.room.delete_room(api.DeleteRoomRequest(room=room))
