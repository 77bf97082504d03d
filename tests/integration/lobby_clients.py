"""Lobby participants played by the Python `livekit` SDK, as any client would be: a lobby token
like the API mints, RPCs to `disco-lobby`, and the `disco.lobby` events they receive."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.sdk import quiet_native_logs, route
from lobby.protocol import LOBBY_IDENTITY, TOPIC
from lobby.schema import blocks, topics, users
from lobby.settings import Settings

CONNECT_WAVE = 10


def lobby_token(settings: Settings, user: str, *, hidden: bool = False) -> str:
    """A lobby token as the API mints it: no name, so strangers in the lobby see none."""
    grants = api.VideoGrants(
        room_join=True,
        room=settings.lobby_room,
        can_publish=False,
        can_subscribe=False,
        can_publish_data=True,
        hidden=hidden,
    )
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(user)
        .with_grants(grants)
        .with_ttl(timedelta(seconds=settings.lobby_token_ttl))
        .to_jwt()
    )


@dataclass
class LobbyUser:
    id: str
    name: str
    room: rtc.Room = field(default_factory=rtc.Room)
    events: list[dict[str, Any]] = field(default_factory=list)
    # When each event arrived (wall clock), for benchmarks.
    arrivals: list[float] = field(default_factory=list)
    # (method, seconds, outcome) of every RPC this client made, for diagnostics.
    calls: list[tuple[str, float, str]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self, settings: Settings, *, hidden: bool = False) -> None:
        def on_data(packet: rtc.DataPacket) -> None:
            if packet.topic == TOPIC:
                event = json.loads(packet.data)
                self.events.append(event)
                self.arrivals.append(time.time())
                self._arrived.set()

        self.room.on("data_received", on_data)
        token = lobby_token(settings, self.id, hidden=hidden)
        quiet_native_logs()
        await self.room.connect(settings.livekit_url, token)
        # A crowd of clients shares this process; each gets its own events, as on a device.
        route(self.room)

    async def call(self, method: str, payload: dict[str, Any] | str | None = None) -> Any:
        """One lobby command. Every lobby command is safe to repeat (docs/PROTOCOL.md), so like
        a real client this retries once when LiveKit lost the request or its ack."""
        try:
            return await self._call(method, payload)
        except rtc.RpcError as e:
            if e.code not in (rtc.RpcError.ErrorCode.CONNECTION_TIMEOUT, 1505):
                raise
        return await self._call(method, payload)

    async def _call(self, method: str, payload: dict[str, Any] | str | None) -> Any:
        body = payload if isinstance(payload, str) else json.dumps(payload or {})
        started, outcome = time.monotonic(), "ok"
        try:
            # Generous limits: a hundred SDK rooms in one test process on a small, busy machine
            # deliver acks late; a slow ack is not what these tests are about.
            reply = await self.room.local_participant.perform_rpc(
                destination_identity=LOBBY_IDENTITY,
                method=method,
                payload=body,
                response_timeout=30,
                max_round_trip_latency=20,
            )
            return json.loads(reply)
        except rtc.RpcError as e:
            outcome = str(e.code)
            raise
        finally:
            self.calls.append((method, time.monotonic() - started, outcome))

    async def fails(
        self, method: str, payload: dict[str, Any] | str | None = None, *, allowed: bool = False
    ) -> str:
        """The DISCO error name of a call that must fail ('' if it may succeed and did)."""
        try:
            await self.call(method, payload)
        except rtc.RpcError as e:
            assert e.code >= 2000, (e.code, e.message)
            name: str = json.loads(e.data or "{}")["error"]
            return name
        if allowed:
            return ""
        raise AssertionError(f"{method} succeeded")

    async def event(self, kind: str, wait: float = 15.0, *, after: int = 0) -> dict[str, Any]:
        """The first event of this type with seq > after, waiting for it if needed."""
        deadline = time.monotonic() + wait
        while True:
            for e in self.events:
                if e["type"] == kind and e["seq"] > after:
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name} got no {kind!r} event; got {self.events}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def last_seq(self) -> int:
        return max((e["seq"] for e in self.events), default=0)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def aclose(self) -> None:
        await self.room.disconnect()


async def add_users(engine: AsyncEngine, n: int, label: str = "user") -> list[LobbyUser]:
    people = [LobbyUser(str(uuid.uuid4()), f"{label}{i}") for i in range(n)]
    async with engine.begin() as conn:
        await conn.execute(
            users.insert(),
            [
                {
                    "id": uuid.UUID(p.id),
                    "email": f"{p.id}@example.test",
                    "password_hash": "not-a-hash",
                    "display_name": p.name,
                }
                for p in people
            ],
        )
    return people


async def add_topics(engine: AsyncEngine, n: int) -> list[str]:
    slugs = [f"t-{secrets.token_hex(5)}" for _ in range(n)]
    async with engine.begin() as conn:
        await conn.execute(
            topics.insert(),
            [
                {"slug": s, "title": f"Topic {s}", "description": "a test topic", "motion": "Yes."}
                for s in slugs
            ],
        )
    return slugs


async def block(engine: AsyncEngine, blocker: LobbyUser, blocked: LobbyUser) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            blocks.insert().values(
                blocker_id=uuid.UUID(blocker.id), blocked_id=uuid.UUID(blocked.id)
            )
        )


@contextlib.asynccontextmanager
async def connected(
    settings: Settings, people: list[LobbyUser], *, hidden: bool = False
) -> AsyncIterator[list[LobbyUser]]:
    try:
        # In small waves: a storm of simultaneous WebRTC handshakes on a 2-core machine times
        # out in the SDK rather than queueing.
        for i in range(0, len(people), CONNECT_WAVE):
            wave = people[i : i + CONNECT_WAVE]
            await asyncio.gather(*(p.connect(settings, hidden=hidden) for p in wave))
        yield people
    finally:
        await asyncio.gather(*(p.aclose() for p in people), return_exceptions=True)


def rpc_summary(people: list[LobbyUser]) -> str:
    """How the lobby RPCs of these clients went: per method, count, p50 and slowest reply;
    then failures by code."""
    by_method: dict[str, list[float]] = collections.defaultdict(list)
    for p in people:
        for method, took, _ in p.calls:
            by_method[method].append(took)
    parts = []
    for method, times in sorted(by_method.items()):
        times.sort()
        parts.append(
            f"{method} x{len(times)} p50 {times[len(times) // 2] * 1000:.0f} ms"
            f" max {times[-1] * 1000:.0f} ms"
        )
    failed = collections.Counter(o for p in people for _, _, o in p.calls if o != "ok")
    return "; ".join(parts) + f"; errors by code {dict(sorted(failed.items()))}"


async def wait_for_agent(settings: Settings, lkapi: api.LiveKitAPI, wait: float = 60) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = await lkapi.room.list_participants(
            api.ListParticipantsRequest(room=settings.lobby_room)
        )
        # The agent marks itself ready once its RPC methods are registered.
        if any(
            p.identity == LOBBY_IDENTITY and p.attributes.get("lobby") == "ready"
            for p in found.participants
        ):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the lobby agent never joined the lobby room")
