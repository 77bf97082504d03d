"""With several lobby shards the token route seats each person in one, the same every time: the
token joins that shard's room only (which the keeper has opened), and the reply names the room
and the agent to call there; Redis records the seat for the shard's agent."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from livekit import api as lk

from api.app import create_app
from api.tokens import seat_shard
from lobby.contract import lobby_shard, lobby_shards
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from tests.api.helpers import register

SHARDS = 3


async def test_each_person_is_seated_in_one_shard_the_same_every_time(
    app_settings: Settings,
) -> None:
    tag = secrets.token_hex(4)
    # A lobby of its own, whose agents no worker serves: only the rooms and tokens matter here.
    mine = dataclasses.replace(
        app_settings,
        lobby_room=f"lobby-shards-{tag}",
        agent_name=f"disco-nobody-{tag}",
        lobby_shards=SHARDS,
    )
    client: TestClient[Any, Any]
    redis = open_redis(mine.redis_url)
    store = LobbyStore(redis, mine.redis_prefix)
    async with (
        TestClient(TestServer(create_app(mine))) as client,
        lk.LiveKitAPI(mine.livekit_url, mine.livekit_api_key, mine.livekit_api_secret) as lkapi,
    ):
        rooms = {s.room for s in lobby_shards(mine.lobby_room, SHARDS)}
        verifier = lk.TokenVerifier(mine.livekit_api_key, mine.livekit_api_secret)
        try:
            seen = set()
            for n in range(12):
                account = await register(client, f"Shard{n}")
                first, again = [
                    await (await client.post("/api/lobby/token", headers=account.auth)).json()
                    for _ in range(2)
                ]
                shard = lobby_shard(mine.lobby_room, seat_shard(str(account.id), SHARDS))
                for body in (first, again):
                    assert (body["room"], body["agent_identity"]) == (shard.room, shard.identity)
                    video = verifier.verify(body["token"]).video
                    assert video is not None and video.room == shard.room
                seat = (await store.seats([str(account.id)]))[str(account.id)]
                assert (seat.identity, seat.shard) == (again["identity"], shard.index)
                seen.add(shard.index)
            # Twelve random user ids all in one of three shards: odds of 3 in 3^12.
            assert len(seen) > 1
            found = await lkapi.room.list_rooms(lk.ListRoomsRequest(names=sorted(rooms)))
            assert {r.name for r in found.rooms} == rooms  # the keeper opened every shard
        finally:
            for room in rooms:
                await lkapi.room.delete_room(lk.DeleteRoomRequest(room=room))
            await redis.aclose()
