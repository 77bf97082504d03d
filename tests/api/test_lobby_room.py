"""The lobby token route hands out a token only for a lobby room that exists: LiveKit creates
no room on join, so the route waits for the keeper to have opened it."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from livekit import api as lk
from livekit import rtc

from api.app import create_app
from lobby.contract import LOBBY_TIMEOUT
from lobby.settings import Settings
from scripts.stack import free_port
from tests.api.helpers import error_of, register


async def test_the_lobby_room_exists_before_its_first_token(app_settings: Settings) -> None:
    tag = secrets.token_hex(4)
    # A lobby of its own, whose agent no worker serves: only the room matters here.
    mine = dataclasses.replace(
        app_settings, lobby_room=f"lobby-first-{tag}", agent_name=f"disco-nobody-{tag}"
    )
    async with (
        TestClient(TestServer(create_app(mine))) as client,
        lk.LiveKitAPI(mine.livekit_url, mine.livekit_api_key, mine.livekit_api_secret) as lkapi,
    ):
        account = await register(client, "Early")
        try:
            r = await client.post("/api/lobby/token", headers=account.auth)
            assert r.status == 200
            body = await r.json()
            found = await lkapi.room.list_rooms(lk.ListRoomsRequest(names=[mine.lobby_room]))
            assert [(x.empty_timeout, x.departure_timeout) for x in found.rooms] == [
                (LOBBY_TIMEOUT, LOBBY_TIMEOUT)
            ]
            room = rtc.Room()
            await room.connect(body["url"], body["token"])
            await room.disconnect()
        finally:
            await lkapi.room.delete_room(lk.DeleteRoomRequest(room=mine.lobby_room))


async def test_no_lobby_token_while_the_lobby_room_cannot_be_opened(
    app_settings: Settings,
) -> None:
    # Nothing listens on this port: LiveKit cannot be asked to create the room.
    mine = dataclasses.replace(app_settings, livekit_url=f"ws://127.0.0.1:{free_port()}")
    client: TestClient[Any, Any]
    async with TestClient(TestServer(create_app(mine))) as client:
        account = await register(client, "Early")
        r = await client.post("/api/lobby/token", headers=account.auth)
        assert r.status == 503
        assert (await error_of(r))["code"] == "not_ready"
