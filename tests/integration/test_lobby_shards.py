"""A lobby split into shards: people waiting in different shards' rooms are matched with each
other, each is told by their own shard's agent and gets their room from it; an identity seated
in one shard is refused by another; and a shard's agent that goes away loses none of the
events made for its people meanwhile."""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import uuid

import pytest
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.lobby_guard import Guard
from agent.lobby_shard import Seated
from api.keeper import Keeper
from api.tokens import LobbyTokens
from lobby.contract import lobby_shard
from lobby.model import Ticket
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from scripts.stack import Stack
from tests.integration.conftest import own_lobby
from tests.support.lobby_clients import (
    LobbyUser,
    add_users_in_shards,
    connected,
    issuer,
    lobby_agent,
)
from tests.support.wait import eventually

CASUAL = "casual"


def _gapless(who: LobbyUser) -> None:
    """Every event numbered for this person reached them, in order."""
    seqs = [e["seq"] for e in who.events]
    assert seqs == list(range(1, len(seqs) + 1)), (who.name, seqs)


async def _proposed(a: LobbyUser, b: LobbyUser, topic: str) -> str:
    await a.call("lobby.join", {"topic": topic, "format": CASUAL})
    await b.call("lobby.join", {"topic": topic, "format": CASUAL})
    pa, pb = await a.event("proposed"), await b.event("proposed")
    assert pa["match_id"] == pb["match_id"]
    assert pa["partner"] == {"display_name": b.name} and pb["partner"] == {"display_name": a.name}
    return str(pa["match_id"])


@pytest.mark.timeout(240)
async def test_people_in_different_shards_are_matched(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine, topic: str
) -> None:
    async with own_lobby(stack, settings, lkapi, "shards", lobby_shards=3) as (mine, _, _):
        people = await add_users_in_shards(db_engine, 3, [0, 2])
        async with connected(mine, people) as (a, b):
            assert (a.lobby_room, a.agent) == (mine.lobby_room, "disco-lobby")
            assert (b.lobby_room, b.agent) == (f"{mine.lobby_room}-2", "disco-lobby-2")
            match_id = await _proposed(a, b, topic)
            for who in (a, b):
                await who.call("lobby.respond", {"match_id": match_id, "accept": True})
            ready_a, ready_b = await a.event("ready"), await b.event("ready")
            assert ready_a["room"] == ready_b["room"]
            grant_a, grant_b = await a.room_grant(), await b.room_grant()
            try:
                assert grant_a["name"] == grant_b["name"] == ready_a["room"]
                assert grant_a["token"] != grant_b["token"]
                _gapless(a)
                _gapless(b)
            finally:
                await lkapi.room.delete_room(api.DeleteRoomRequest(room=ready_a["room"]))


async def test_an_identity_is_admitted_by_its_own_shard_only(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine
) -> None:
    """A token for another shard's room under a recorded identity (only a holder of LiveKit's
    key could mint one) gets nowhere: that shard's agent refuses it and removes it."""
    async with own_lobby(stack, settings, lkapi, "seat", lobby_shards=2) as (mine, _, _):
        (user,) = await add_users_in_shards(db_engine, 2, [0])
        other = lobby_shard(mine.lobby_room, 1)
        async with issuer(mine) as issued:
            seated = await issued.issue_pass(user.id)
        assert seated.shard.index == 0
        forged = LobbyTokens(mine).mint(seated.identity, shard=1)
        own, elsewhere = rtc.Room(), rtc.Room()
        try:
            await own.connect(mine.livekit_url, seated.token)
            await elsewhere.connect(mine.livekit_url, forged)
            with pytest.raises(rtc.RpcError) as refused:
                await elsewhere.local_participant.perform_rpc(
                    destination_identity=other.identity, method="lobby.status", payload="{}"
                )
            assert json.loads(refused.value.data or "{}")["error"] == "unknown_caller"
            await eventually(lambda: not _in(elsewhere), "the other shard removes it")
            reply = await own.local_participant.perform_rpc(
                destination_identity=seated.shard.identity, method="lobby.status", payload="{}"
            )
            assert json.loads(reply)["ticket"] is None
        finally:
            await own.disconnect()
            await elsewhere.disconnect()


async def test_each_shard_drops_the_tickets_of_its_own_people_only(
    settings: Settings, lkapi: api.LiveKitAPI
) -> None:
    """The presence sweep of a shard's agent sees its own room only: someone waiting in another
    shard's room is not gone. A ticket whose person has no lobby connection at all is shard 0's
    to drop."""
    mine = dataclasses.replace(
        settings,
        lobby_room=f"lobby-sweep-{secrets.token_hex(4)}",
        redis_prefix=f"{settings.redis_prefix}sweep{secrets.token_hex(4)}",
        lobby_shards=3,
    )
    redis = open_redis(mine.redis_url)
    store = LobbyStore(redis, mine.redis_prefix)
    there, elsewhere, nowhere = (str(uuid.uuid4()) for _ in range(3))
    long_ago = time.time() - 60
    for user, shard in ((there, 0), (elsewhere, 2)):
        await store.issue_identity(f"p-{secrets.token_hex(8)}", user, 600, shard)
    for user in (there, elsewhere, nowhere):
        await store.join(Ticket(user, "Someone", "t-sweep", CASUAL, None, long_ago), long_ago)
    rooms = [lobby_shard(mine.lobby_room, k).room for k in range(3)]
    try:
        for room in rooms:
            await lkapi.room.create_room(api.CreateRoomRequest(name=room))
        strays = {}
        for k in (0, 2):
            guard = Guard(lkapi, rooms[k], mine, store, lambda c: c.close(), k)
            strays[k] = set(await Seated(lkapi, rooms[k], store, guard, k, 3).strays())
        # Nobody is in any lobby room: each shard finds its own people gone, and no one else.
        assert strays == {0: {there, nowhere}, 2: {elsewhere}}
    finally:
        for room in rooms:
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
        await redis.aclose()


def _in(room: rtc.Room) -> bool:
    return room.connection_state == rtc.ConnectionState.CONN_CONNECTED


@pytest.mark.timeout(300)
async def test_a_shard_agent_away_loses_no_event(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine, topic: str
) -> None:
    """Shard 1's agent leaves while its person's match starts (shard 0 starts it): the `ready`
    made for that person waits in shard 1's stream, and the agent the keeper brings back sends
    it. Its recovery sends nothing for a match that is live, so only the stream can."""
    async with own_lobby(stack, settings, lkapi, "away", lobby_shards=2) as (mine, _, keeper):
        people = await add_users_in_shards(db_engine, 2, [0, 1])
        async with connected(mine, people) as (a, b):
            match_id = await _proposed(a, b, topic)
            await b.call("lobby.respond", {"match_id": match_id, "accept": True})
            seen_b = b.last_seq()
            old = await _agent_leaves(mine, lkapi, b)
            await a.call("lobby.respond", {"match_id": match_id, "accept": True})
            ready_a = await a.event("ready")
            assert await _waiting(mine, 1) >= 1 and not b.of_type("ready")
            await _served_again(mine, lkapi, keeper, old)
            ready_b = await b.event("ready", after=seen_b)
            assert ready_b["match_id"] == match_id and ready_b["room"] == ready_a["room"]
            try:
                assert (await b.room_grant())["name"] == ready_a["room"]
                _gapless(b)
                await eventually(lambda: _drained(mine), "shard 1's stream emptied", 10)
            finally:
                await lkapi.room.delete_room(api.DeleteRoomRequest(room=ready_a["room"]))


async def _agent_leaves(settings: Settings, lkapi: api.LiveKitAPI, who: LobbyUser) -> str:
    """Remove the agent of `who`'s shard from its room (its job ends); returns its sid."""
    old = await lobby_agent(settings, lkapi, 1)
    await lkapi.room.remove_participant(
        api.RoomParticipantIdentity(room=who.lobby_room, identity=who.agent)
    )
    await eventually(lambda: _gone(settings, lkapi), "shard 1's agent has left its room", within=30)
    return old


async def _gone(settings: Settings, lkapi: api.LiveKitAPI) -> bool:
    return await lobby_agent(settings, lkapi, 1) == ""


async def _served_again(
    settings: Settings, lkapi: api.LiveKitAPI, keeper: Keeper, old: str
) -> None:
    """What the API does: ensure() periodically (and on the participant_left webhook)."""

    async def served() -> bool:
        await keeper.ensure()
        return await lobby_agent(settings, lkapi, 1) not in ("", old)

    await eventually(served, "shard 1 served again by a new agent", 120, every=1)


async def _waiting(settings: Settings, shard: int) -> int:
    """Events in the shard's stream not yet sent."""
    redis = open_redis(settings.redis_url)
    try:
        return await LobbyStore(redis, settings.redis_prefix).notices_waiting(shard)
    finally:
        await redis.aclose()


async def _drained(settings: Settings) -> bool:
    return await _waiting(settings, 1) == 0


async def test_events_read_but_never_sent_are_read_again(settings: Settings) -> None:
    """An agent that dies between reading its shard's events and sending them leaves them to
    the next agent of the shard; other shards' streams are their own."""
    redis = open_redis(settings.redis_url)
    store = LobbyStore(redis, f"{settings.redis_prefix}notes{secrets.token_hex(4)}")
    try:
        await store.notify([(1, "ann", '{"n": 1}'), (2, "bob", '{"n": 2}')])
        await store.notify([(1, "ann", '{"n": 3}'), (1, "cy", '{"n": 4}')])
        for shard in (1, 2):
            await store.open_notices(shard)
        first = await store.read_notices(1, 2, 100)
        assert [(n.user, n.event) for n in first] == [("ann", '{"n": 1}'), ("ann", '{"n": 3}')]
        # The agent dies here. Its successor finds what it read and never cleared, first.
        await store.open_notices(1)
        again = await store.read_notices(1, 10, 0, backlog=True)
        assert again == first
        await store.drop_notices(1, [n.id for n in again])
        assert await store.read_notices(1, 10, 0, backlog=True) == []
        rest = await store.read_notices(1, 10, 100)
        assert [(n.user, n.event) for n in rest] == [("cy", '{"n": 4}')]
        await store.drop_notices(1, [n.id for n in rest])
        assert await store.notices_waiting(1) == 0
        assert [n.user for n in await store.read_notices(2, 10, 100)] == ["bob"]
        assert await store.read_notices(1, 10, 100) == []
    finally:
        await redis.aclose()
