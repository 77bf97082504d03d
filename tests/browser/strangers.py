"""Hostile strangers for the browser tests: people who sign up through the site's own HTTP API
like anyone, then drive LiveKit with the Python SDK instead of the web client, so they can send
what the web client never would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from livekit import api, rtc

from agent.sdk import quiet_native_logs, route
from lobby.contract import LOBBY_IDENTITY, MODERATOR_IDENTITY
from tests.support.media import Tone, publish_tone
from tests.support.wait import eventually

MODERATOR = MODERATOR_IDENTITY

# Long enough for an agent's reply on a busy two-core machine.
PATIENCE = 30.0


async def until(check: Callable[[], Awaitable[Any]], what: str, wait: float = PATIENCE) -> Any:
    """The first truthy result of `check`, asked about once a second (as a client that follows
    hints would); fails after `wait` seconds naming `what`."""
    return await eventually(check, what, wait, every=1)


def forged_token(identity: str, room: str) -> str:
    """A well-formed LiveKit token signed by nobody DISCO knows."""
    grants = api.VideoGrants(room_join=True, room=room)
    return (
        api.AccessToken("APIforged", secrets.token_hex(32))
        .with_identity(identity)
        .with_grants(grants)
        .to_jwt()
    )


@dataclass
class Stranger:
    http: aiohttp.ClientSession
    name: str
    bearer: str = ""
    lobby: rtc.Room = field(default_factory=rtc.Room)
    room: rtc.Room = field(default_factory=rtc.Room)
    _tone: Tone | None = None

    async def sign_up(self) -> None:
        email = f"{self.name.split()[0].lower()}-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(18)
        body = {
            "email": email,
            "password": password,
            "display_name": self.name,
            "adult": True,
            "accepts_terms": True,
        }
        async with self.http.post("/api/register", json=body) as r:
            assert r.status == 201, await r.text()
        async with self.http.post("/api/login", json={"email": email, "password": password}) as r:
            assert r.status == 200, await r.text()
            self.bearer = (await r.json())["access_token"]

    async def topic_slug(self, index: int) -> str:
        """The slug of the topic a person picks at this place of the lobby's list."""
        async with self.http.get("/api/topics") as r:
            slug: str = (await r.json())["topics"][index]["slug"]
            return slug

    async def join_lobby(self) -> dict[str, Any]:
        """The lobby token route's reply, once connected to the lobby room with it."""
        headers = {"Authorization": f"Bearer {self.bearer}"}
        async with self.http.post("/api/lobby/token", json={}, headers=headers) as r:
            assert r.status == 200, await r.text()
            reply: dict[str, Any] = await r.json()
        quiet_native_logs()
        await self.lobby.connect(reply["url"], reply["token"])
        route(self.lobby)
        return reply

    async def lobby_call(self, method: str, payload: dict[str, Any] | None = None) -> Any:
        await until(self._lobby_ready, "lobby agent")
        reply = await self.lobby.local_participant.perform_rpc(
            destination_identity=LOBBY_IDENTITY,
            method=method,
            payload=json.dumps(payload or {}),
            response_timeout=PATIENCE,
        )
        return json.loads(reply)

    async def _lobby_ready(self) -> bool:
        agent = self.lobby.remote_participants.get(LOBBY_IDENTITY)
        return agent is not None and agent.attributes.get("lobby") == "ready"

    async def status_with(self, key: str) -> dict[str, Any] | None:
        """`lobby.status` when its `key` is set (a `match`, a `room`), else None."""
        status: dict[str, Any] = await self.lobby_call("lobby.status")
        return status if status.get(key) else None

    async def enter_room(self, room: dict[str, Any]) -> None:
        """Leave the lobby and join the discussion room `lobby.status` named."""
        await self.lobby.disconnect()
        await self.room.connect(room["url"], room["token"])
        route(self.room)

    async def moderator_call(self, method: str) -> dict[str, Any]:
        await until(self._moderator_here, "moderator agent")
        reply = await self.room.local_participant.perform_rpc(
            destination_identity=MODERATOR, method=method, payload="{}", response_timeout=PATIENCE
        )
        state: dict[str, Any] = json.loads(reply)
        return state

    async def _moderator_here(self) -> bool:
        return MODERATOR in self.room.remote_participants

    def moderator_attribute(self, key: str) -> Any:
        value = self.room.remote_participants[MODERATOR].attributes.get(key, "")
        return json.loads(value) if value.startswith(("{", "[")) else value

    async def publish_tone_as_camera(self) -> None:
        """Sound on a track declared as a camera: LiveKit lets it through a camera-only grant."""
        self._tone = await publish_tone(self.room, "camera", rtc.TrackSource.SOURCE_CAMERA)

    async def aclose(self) -> None:
        await self.room.disconnect()
        if self._tone is not None:
            await self._tone.aclose()
        await self.lobby.disconnect()


async def forge(room: rtc.Room, topic: str, to: list[str], events: list[dict[str, Any]]) -> None:
    """Send events as if the agents had sent them, to each of `to`."""
    for event in events:
        await room.local_participant.publish_data(
            json.dumps(event), reliable=True, destination_identities=to, topic=topic
        )


@contextlib.asynccontextmanager
async def strangers(site_url: str, *names: str) -> AsyncIterator[list[Stranger]]:
    async with aiohttp.ClientSession(base_url=site_url) as http:
        made = [Stranger(http, name) for name in names]
        try:
            for s in made:
                await s.sign_up()
            yield made
        finally:
            await asyncio.gather(*(s.aclose() for s in made), return_exceptions=True)


@dataclass
class Listener:
    """A TCP port that records who connects: the address a forged `ready` points at."""

    port: int = 0
    seen: list[str] = field(default_factory=list)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.seen.append(str(writer.get_extra_info("peername")))
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def listener() -> AsyncIterator[Listener]:
    recorder = Listener()
    server = await asyncio.start_server(recorder._accept, "127.0.0.1", 0)
    recorder.port = server.sockets[0].getsockname()[1]
    try:
        yield recorder
    finally:
        server.close()
        await server.wait_closed()
