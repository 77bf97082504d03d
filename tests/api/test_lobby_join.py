"""The lobby token, used for real: LiveKit lets it into the lobby room, with data but no media."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from livekit import api as lk
from livekit import rtc

from lobby.settings import Settings
from tests.api.helpers import register

Client = TestClient[Any, Any]


async def test_livekit_admits_the_lobby_token_to_the_lobby_only(
    client: Client, app_settings: Settings
) -> None:
    account = await register(client, "Joiner")
    body = await (await client.post("/api/lobby/token", headers=account.auth)).json()
    room = rtc.Room()
    try:
        await room.connect(body["url"], body["token"])
        assert room.name == app_settings.lobby_room
        me = room.local_participant
        # Everyone in the lobby room can list its participants: no name is shown there.
        assert (me.identity, me.name) == (body["identity"], "")
        assert me.identity != str(account.id)
        async with lk.LiveKitAPI(
            app_settings.livekit_url, app_settings.livekit_api_key, app_settings.livekit_api_secret
        ) as livekit:
            seen = await livekit.room.get_participant(
                lk.RoomParticipantIdentity(room=app_settings.lobby_room, identity=me.identity)
            )
        assert seen.permission.can_publish is False
        assert seen.permission.can_subscribe is False
        assert seen.permission.can_publish_data is True
    finally:
        await room.disconnect()
