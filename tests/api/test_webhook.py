"""LiveKit webhooks: LiveKit's own room_finished records a discussion's end and clears its live
state; forged, tampered or unsigned webhooks are refused and change nothing; a replayed event
changes nothing."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf.json_format import MessageToJson
from livekit import api as lk
from livekit import rtc
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from lobby.db.schema import discussions, webhook_events
from lobby.settings import Settings
from lobby.store import LobbyStore
from scripts.stack import free_port
from tests.api.helpers import Account, discussion_row, error_of, make_discussion, register_all
from tests.support.livekit import server_api
from tests.support.wait import eventually

Client = TestClient[Any, Any]


def _event(room: str, event_id: str | None = None, kind: str = "room_finished") -> bytes:
    event = lk.WebhookEvent(
        id=event_id or f"EV_{secrets.token_hex(8)}",
        event=kind,
        room=lk.Room(name=room, sid=f"RM_{secrets.token_hex(6)}"),
        created_at=int(time.time()),
    )
    return MessageToJson(event).encode()


def _sign(body: bytes, key: str, secret: str) -> str:
    """An Authorization token made the way LiveKit makes one for a webhook."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = lk.AccessToken(key, secret).with_sha256(digest)
    return token.with_ttl(dt.timedelta(minutes=5)).to_jwt()


async def _post(client: Client, settings: Settings, body: bytes) -> Any:
    auth = _sign(body, settings.livekit_api_key, settings.livekit_api_secret)
    headers = {"Authorization": auth, "Content-Type": "application/webhook+json"}
    return await client.post("/livekit/webhook", data=body, headers=headers)


@pytest.fixture
async def store(app_settings: Settings) -> AsyncIterator[LobbyStore]:
    redis = Redis.from_url(app_settings.redis_url)
    yield LobbyStore(redis, app_settings.redis_prefix)
    await redis.aclose()


async def _seed_live_state(store: LobbyStore, room: str, people: list[Account]) -> None:
    """The lobby's record of a live match in `room`, as the lobby agent leaves it."""
    redis = store.redis
    match_id = secrets.token_hex(8)
    users = [str(p.id) for p in people]
    await redis.hset(store.keys["rooms"], room, match_id)
    await redis.hset(
        store.keys["activeMatches"], match_id, f'{{"users":["{users[0]}","{users[1]}"]}}'
    )
    for user in users:
        await redis.hset(store.keys["matchOf"], user, match_id)


async def _talk(
    client: Client, engine: AsyncEngine, store: LobbyStore | None = None, **row: Any
) -> tuple[list[Account], uuid.UUID, str]:
    """Ann and Ben's discussion (its row as `make_discussion` takes it) and, given the `store`,
    their live match in Redis: the two accounts, the discussion's id and its room."""
    people = await register_all(client, "Ann", "Ben")
    discussion_id, room = await make_discussion(engine, people, **row)
    if store is not None:
        await _seed_live_state(store, room, people)
    return people, discussion_id, room


async def _event_recorded(engine: AsyncEngine, event_id: str) -> bool:
    query = sa.select(webhook_events.c.id).where(webhook_events.c.id == event_id)
    async with engine.connect() as conn:
        return (await conn.execute(query)).first() is not None


async def _reopen(engine: AsyncEngine, discussion_id: uuid.UUID) -> None:
    async with engine.begin() as conn:
        update = discussions.update().where(discussions.c.id == discussion_id)
        await conn.execute(update.values(ended_at=None, outcome=None))


async def test_room_finished_records_the_end_and_clears_live_state(
    client: Client, engine: AsyncEngine, app_settings: Settings, store: LobbyStore
) -> None:
    (a, b), discussion_id, room = await _talk(client, engine, store)
    r = await _post(client, app_settings, _event(room))
    assert r.status == 200
    row = await discussion_row(engine, discussion_id)
    assert row.ended_at is not None and row.outcome == "abandoned"
    assert await store.match_of(str(a.id)) is None
    assert await store.match_of(str(b.id)) is None


async def test_room_finished_keeps_an_outcome_already_recorded(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    _, discussion_id, room = await _talk(client, engine, outcome="completed")
    assert (await _post(client, app_settings, _event(room))).status == 200
    row = await discussion_row(engine, discussion_id)
    assert row.ended_at is not None and row.outcome == "completed"


async def test_a_replayed_event_changes_nothing(
    client: Client, engine: AsyncEngine, app_settings: Settings, store: LobbyStore
) -> None:
    people, discussion_id, room = await _talk(client, engine)
    body = _event(room)
    assert (await _post(client, app_settings, body)).status == 200
    # Put the world back as it was; a second delivery of the same event must not touch it.
    await _reopen(engine, discussion_id)
    await _seed_live_state(store, room, people)
    assert (await _post(client, app_settings, body)).status == 200
    row = await discussion_row(engine, discussion_id)
    assert row.ended_at is None and row.outcome is None
    assert await store.match_of(str(people[0].id)) is not None


def _forgeries(body: bytes, settings: Settings) -> list[tuple[str, dict[str, str], bytes]]:
    key, secret = settings.livekit_api_key, settings.livekit_api_secret
    other = _event("some-other-room")
    expired = lk.AccessToken(key, secret).with_ttl(dt.timedelta(seconds=-600))
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return [
        ("no signature", {}, body),
        ("wrong secret", {"Authorization": _sign(body, key, "x" * len(secret))}, body),
        ("wrong key", {"Authorization": _sign(body, "intruder", secret)}, body),
        ("other body", {"Authorization": _sign(other, key, secret)}, body),
        (
            "tampered body",
            {"Authorization": _sign(body, key, secret)},
            body.replace(b"room", b"room "),
        ),
        ("expired", {"Authorization": expired.with_sha256(digest).to_jwt()}, body),
        ("no hash", {"Authorization": lk.AccessToken(key, secret).to_jwt()}, body),
        ("garbage", {"Authorization": "not.a.jwt"}, body),
    ]


async def test_forged_webhooks_are_refused_and_change_nothing(
    client: Client, engine: AsyncEngine, app_settings: Settings, store: LobbyStore
) -> None:
    (a, _), discussion_id, room = await _talk(client, engine, store)
    event_id = f"EV_{secrets.token_hex(8)}"
    body = _event(room, event_id)
    for name, headers, sent in _forgeries(body, app_settings):
        # Sent as LiveKit sends, so the signature is what refuses them.
        headers["Content-Type"] = "application/webhook+json"
        r = await client.post("/livekit/webhook", data=sent, headers=headers)
        assert r.status == 401, name
        assert (await error_of(r))["code"] == "invalid_signature"
    row = await discussion_row(engine, discussion_id)
    assert row.ended_at is None and row.outcome is None
    assert await store.match_of(str(a.id)) is not None
    assert not await _event_recorded(engine, event_id)
    # The genuine event still works afterwards.
    assert (await _post(client, app_settings, body)).status == 200
    assert (await discussion_row(engine, discussion_id)).ended_at is not None


async def test_other_rooms_and_events_are_accepted_and_ignored(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    _, discussion_id, room = await _talk(client, engine)
    assert (await _post(client, app_settings, _event(f"nowhere-{uuid.uuid4()}"))).status == 200
    for kind in ("room_started", "participant_joined", "participant_left"):
        assert (await _post(client, app_settings, _event(room, kind=kind))).status == 200
    assert (await discussion_row(engine, discussion_id)).ended_at is None


@pytest.fixture
async def public_client(app_settings: Settings, api_port: int) -> Any:
    """The API on `api_port`, where the test LiveKit server sends its webhooks."""
    async with TestClient(TestServer(create_app(app_settings), port=api_port)) as c:
        yield c


def _room_token(settings: Settings, room: str, identity: str) -> str:
    grants = lk.VideoGrants(room_join=True, room=room)
    token = lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
    return token.with_identity(identity).with_grants(grants).to_jwt()


async def _wait_ended(engine: AsyncEngine, discussion_id: uuid.UUID, within: float) -> Any:
    async def ended() -> Any:
        row = await discussion_row(engine, discussion_id)
        return row if row.ended_at is not None else None

    what = "the discussion ended by LiveKit's room_finished webhook"
    return await eventually(ended, what, within, every=0.2)


async def test_livekit_room_finished_reaches_the_api(
    public_client: Client, engine: AsyncEngine, app_settings: Settings, store: LobbyStore
) -> None:
    (a, _), discussion_id, room_name = await _talk(public_client, engine, store)
    room = rtc.Room()
    livekit = server_api(app_settings)
    try:
        # No join creates a room (livekit.yaml): the room is opened as the lobby agent does.
        await livekit.room.create_room(lk.CreateRoomRequest(name=room_name))
        await room.connect(
            app_settings.livekit_url, _room_token(app_settings, room_name, str(a.id))
        )
        assert room.name == room_name
        await room.disconnect()
        # Deleting the emptied room makes LiveKit finish it now instead of after its timeout.
        await livekit.room.delete_room(lk.DeleteRoomRequest(room=room_name))
        row = await _wait_ended(engine, discussion_id, within=60)
        assert row.outcome == "abandoned"
        assert await store.match_of(str(a.id)) is None
    finally:
        await livekit.aclose()


async def test_when_live_state_cannot_be_cleared_nothing_is_recorded(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    """The Redis step comes first, outside the transaction: when Redis is away the API answers
    503 and records nothing, so LiveKit's retry applies the event once Redis is back."""
    _, discussion_id, room = await _talk(client, engine)
    event_id = f"EV_{secrets.token_hex(8)}"
    body = _event(room, event_id)
    no_redis = dataclasses.replace(app_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with TestClient(TestServer(create_app(no_redis))) as broken:
        r = await _post(broken, no_redis, body)
        assert r.status == 503
        assert (await error_of(r))["code"] == "unavailable"
    assert (await discussion_row(engine, discussion_id)).ended_at is None
    assert not await _event_recorded(engine, event_id)
    assert (await _post(client, app_settings, body)).status == 200
    assert (await discussion_row(engine, discussion_id)).ended_at is not None
    assert await _event_recorded(engine, event_id)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_a_webhook_of_another_content_type_is_refused(
    client: Client, engine: AsyncEngine, app_settings: Settings, content_type: str
) -> None:
    """Only LiveKit's own type (or plain JSON) is read, even with a good signature."""
    _, discussion_id, room = await _talk(client, engine)
    event_id = f"EV_{secrets.token_hex(8)}"
    body = _event(room, event_id)
    auth = _sign(body, app_settings.livekit_api_key, app_settings.livekit_api_secret)
    headers = {"Authorization": auth}
    if content_type:
        headers["Content-Type"] = content_type
    r = await client.post("/livekit/webhook", data=body, headers=headers)
    assert r.status == 415
    assert (await error_of(r))["code"] == "unsupported_media_type"
    assert (await discussion_row(engine, discussion_id)).ended_at is None
    assert not await _event_recorded(engine, event_id)
