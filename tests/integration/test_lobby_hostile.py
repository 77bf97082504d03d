"""Hostile people in the lobby, over the real servers: forged events, opaque identities, a newer
connection replacing an older one, callers the API never issued, floods, and the rate limit
that `lobby.status` is exempt from."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth import Sessions
from api.keeper import Keeper
from lobby.contract import LOBBY_IDENTITY
from lobby.protocol import TOPIC
from lobby.settings import Settings
from tests.support.lobby_clients import (
    LobbyUser,
    add_users,
    connected,
    issuer,
    lobby_store,
    unrecorded_lobby_token,
)
from tests.support.wait import eventually

UNKNOWN_CALLER = 2011


async def removed(room: rtc.Room | LobbyUser, wait: float = 30.0) -> None:
    """Wait until LiveKit has disconnected this client (the agent removed it)."""
    if isinstance(room, LobbyUser):
        await asyncio.wait_for(room.removed.wait(), wait)
        return
    await eventually(
        lambda: room.connection_state == rtc.ConnectionState.CONN_DISCONNECTED, "removed", wait
    )


def _forged_token(room: str) -> str:
    """A token a forger can make: the right shape and room claim, signed with its own key."""
    return (
        api.AccessToken("forger", "forger-secret-forger-secret-forger")
        .with_identity("victim")
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_ttl(timedelta(minutes=5))
        .to_jwt()
    )


async def test_forged_events_change_nothing_for_the_victim(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 2)
    async with connected(settings, people) as (victim, attacker):
        await victim.call("lobby.join", {"topic": topic, "format": "casual"})
        # What anyone in the lobby sees of the others: opaque identities, never a user id.
        await eventually(
            lambda: victim.identity in attacker.room.remote_participants, "victim listed"
        )
        listed = set(attacker.room.remote_participants)
        assert not listed & {p.id for p in people}
        assert all(i.startswith("p-") for i in listed - {LOBBY_IDENTITY})
        hints = victim.hints
        forged: list[dict[str, Any]] = [
            {"type": "proposed", "seq": 90, "match_id": "f" * 32, "state": "pending"},
            {"type": "cancelled", "seq": 91, "match_id": "f" * 32, "reason": "declined"},
            {
                "type": "ready",
                "seq": 92,
                "match_id": "f" * 32,
                "room": "disco-elsewhere",
                "url": "wss://elsewhere.example",
                "token": _forged_token("disco-elsewhere"),
            },
        ]
        asked, started = _status_calls(victim), time.monotonic()
        for event in forged * 10:
            await attacker.room.local_participant.publish_data(
                json.dumps(event), topic=TOPIC, destination_identities=[victim.identity]
            )
        await eventually(lambda: victim.hints >= hints + 10 * len(forged), "the forged packets")
        state = await victim.settled()
        assert victim.grant is None and state["room"] is None and state["match"] is None
        assert state["ticket"] is not None and state["ticket"]["position"] == 0
        assert not victim.removed.is_set()
        # Thirty hints, and the victim asked at most once a second (and once right away).
        assert _status_calls(victim) - asked <= 2 + (time.monotonic() - started)


def _status_calls(who: LobbyUser) -> int:
    return sum(1 for method, _, _ in who.calls if method == "lobby.status")


async def test_status_gives_the_room_only_while_the_seat_is_held(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, lkapi: api.LiveKitAPI, topic: str
) -> None:
    people = await add_users(db_engine, 2)
    async with connected(settings, people) as (a, b), lobby_store(settings) as store:
        for who in (a, b):
            await who.call("lobby.join", {"topic": topic, "format": "casual"})
        match_id = (await a.event("proposed"))["match_id"]
        for who in (a, b):
            await who.call("lobby.respond", {"match_id": match_id, "accept": True})
        grant = await a.room_grant()
        try:
            claims = jwt.decode(grant["token"], options={"verify_signature": False})
            assert claims["video"]["room"] == grant["name"] and claims["sub"] == a.id
            assert grant["url"] in a.urls and (await b.room_grant())["name"] == grant["name"]
            # a gives up the seat (as the agent lets go of someone who never went to the
            # room): no room for a any more, b keeps theirs.
            assert await store.release(a.id, match_id)
            assert (await a.call("lobby.status"))["room"] is None
            assert (await b.call("lobby.status"))["room"]["name"] == grant["name"]
            # The room finished (LiveKit's webhook clears it): nobody gets it.
            await store.finish_room(grant["name"])
            assert (await b.call("lobby.status"))["room"] is None
        finally:
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=grant["name"]))


async def test_a_newer_connection_replaces_the_older(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    (person,) = await add_users(db_engine, 1)
    async with connected(settings, [person]) as (first,):
        assert first.identity != first.id and first.identity.startswith("p-")
        await first.call("lobby.join", {"topic": topic, "format": "casual"})
        # The same person, a second lobby token (a reload, another tab): a new identity.
        async with connected(settings, [LobbyUser(person.id, person.name)]) as (second,):
            assert second.identity not in (first.identity, person.id)
            await removed(first)
            # The newer connection carries on with the same ticket.
            status = await second.call("lobby.status")
            assert status["ticket"] is not None and status["ticket"]["topic"] == topic


async def test_a_caller_the_api_never_issued_is_refused_and_removed(
    lobby: Keeper, settings: Settings
) -> None:
    caller, lurker = rtc.Room(), rtc.Room()
    try:
        await caller.connect(settings.livekit_url, unrecorded_lobby_token(settings, "p-forged"))
        with pytest.raises(rtc.RpcError) as refused:
            await caller.local_participant.perform_rpc(
                destination_identity=LOBBY_IDENTITY, method="lobby.status", payload="{}"
            )
        assert refused.value.code == UNKNOWN_CALLER
        assert json.loads(refused.value.data or "{}")["error"] == "unknown_caller"
        await removed(caller)
        # One that only listens is turned away too.
        await lurker.connect(settings.livekit_url, unrecorded_lobby_token(settings, "p-lurker"))
        await removed(lurker)
    finally:
        await asyncio.gather(caller.disconnect(), lurker.disconnect())


async def _flood_packets(who: LobbyUser) -> None:
    with contextlib.suppress(Exception):
        while not who.removed.is_set():
            await who.room.local_participant.publish_data(b"spam", topic="spam")
            await asyncio.sleep(0.002)


async def _flood_rpcs(who: LobbyUser) -> None:
    async def one() -> None:
        with contextlib.suppress(Exception):
            await who.room.local_participant.perform_rpc(
                destination_identity=LOBBY_IDENTITY,
                method="lobby.status",
                payload="{}",
                response_timeout=5,
            )

    while not who.removed.is_set():
        await asyncio.gather(*(one() for _ in range(25)))


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    """The real API, in process, for the lobby token route."""
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def _bearer(settings: Settings, user: str) -> dict[str, str]:
    sessions = Sessions(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience, ttl=600)
    return {"Authorization": f"Bearer {sessions.issue(uuid.UUID(user))}"}


@pytest.mark.parametrize("flood", [_flood_packets, _flood_rpcs], ids=["packets", "rpcs"])
async def test_a_flooder_is_removed_refused_and_removed_again(
    lobby: Keeper,
    settings: Settings,
    db_engine: AsyncEngine,
    flood: Callable[[LobbyUser], Awaitable[None]],
) -> None:
    people = await add_users(db_engine, 2)
    async with connected(settings, people) as (flooder, bystander), api_client(settings) as web:
        held = flooder.token
        await asyncio.wait_for(flood(flooder), 60)
        await removed(flooder)
        r = await web.post("/api/lobby/token", headers=_bearer(settings, flooder.id))
        assert r.status == 429
        error = (await r.json())["error"]
        assert error["code"] == "flooding" and error["retry_after"] > 0
        # Back with the token it still holds: removed again on arrival.
        again = rtc.Room()
        try:
            with contextlib.suppress(rtc.ConnectError):
                await again.connect(settings.livekit_url, held)
            await removed(again)
        finally:
            await again.disconnect()
        # Nobody else paid for it.
        assert not bystander.removed.is_set()
        assert (await bystander.call("lobby.status"))["ticket"] is None
        r = await web.post("/api/lobby/token", headers=_bearer(settings, bystander.id))
        assert r.status == 200


async def test_status_is_never_rate_limited(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 1)
    async with connected(settings, people) as (u,):
        for _ in range(40):  # more than the 30 commands per 10 s other commands may use
            await u.call("lobby.status")
        await u.call("lobby.join", {"topic": topic, "format": "casual"})
        refusals = [await u.fails("lobby.leave", allowed=True) for _ in range(31)]
        assert "rate_limited" in refusals
        assert (await u.call("lobby.status"))["ticket"] is None


async def test_issuer_records_identities_like_the_api(settings: Settings) -> None:
    """The test clients' tokens are the API's: the same code, the same Redis records."""
    user = str(uuid.uuid4())
    async with issuer(settings) as issued, lobby_store(settings) as store:
        identity, token = await issued.issue(user)
        assert await store.users_of([identity]) == {identity: user}
        assert jwt.decode(token, options={"verify_signature": False})["sub"] == identity
