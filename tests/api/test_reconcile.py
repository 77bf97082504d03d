"""The reconciler against the real servers: a discussion whose room_finished webhook never
came (its room is gone) is ended as `lost` and released in Redis; discussions whose room
exists, or that are younger than the grace, are left alone; old webhook event ids go."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets
import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from livekit import api as lk
from sqlalchemy.ext.asyncio import AsyncEngine

from api.reconcile import Reconciler
from lobby import lifecycle
from lobby.db import Database, discussion_id
from lobby.db.schema import webhook_events
from lobby.model import Match, Ticket
from lobby.policy import Pairing
from lobby.settings import Settings
from lobby.store import LobbyStore
from tests.api.helpers import discussion_row, register
from tests.api.test_outages import Client
from tests.support.lobby_clients import lobby_store


@pytest.fixture
async def store(app_settings: Settings) -> AsyncIterator[LobbyStore]:
    async with lobby_store(app_settings) as store:
        yield store


@pytest.fixture
async def lkapi(app_settings: Settings) -> AsyncIterator[lk.LiveKitAPI]:
    s = app_settings
    client = lk.LiveKitAPI(s.livekit_url, s.livekit_api_key, s.livekit_api_secret)
    yield client
    await client.aclose()


async def live_match(client: Client, engine: AsyncEngine, store: LobbyStore) -> Match:
    """A match made live the way the lobby agent does it (proposed, accepted by both, its
    discussion recorded, marked live), except that its room is never created."""
    a, b = await register(client, "Ann"), await register(client, "Ben")
    now = time.time()
    tickets = [
        Ticket(str(p.id), p.display_name, "remote-work", "casual", None, now) for p in (a, b)
    ]
    for t in tickets:
        await store.join(t, now)
    (match,) = lifecycle.propose(
        [Pairing(tickets[0], tickets[1], None, None)], now, random.Random(), 20
    )
    assert await store.propose([match], now, 600) == [match.id]
    for user in match.users:
        current = await store.pending(match.id)
        assert current is not None
        assert await store.settle(current, lifecycle.respond(current, user, True, now)) == "ok"
    started = await store.active(match.id)
    assert started is not None
    await Database(engine).start_discussion(started)
    assert await store.mark_live(dataclasses.replace(started, state="live"))
    return started


def _reconciler(
    settings: Settings, lkapi: lk.LiveKitAPI, engine: AsyncEngine, store: LobbyStore, grace: int
) -> Reconciler:
    return Reconciler(
        dataclasses.replace(settings, reconcile_grace=grace), lkapi, Database(engine), store
    )


async def test_a_discussion_whose_room_is_gone_is_lost_and_released(
    client: Client,
    engine: AsyncEngine,
    store: LobbyStore,
    lkapi: lk.LiveKitAPI,
    app_settings: Settings,
) -> None:
    gone = await live_match(client, engine, store)
    kept = await live_match(client, engine, store)
    await lkapi.room.create_room(lk.CreateRoomRequest(name=kept.room, empty_timeout=300))
    try:
        # Younger than the grace: its room may still be on its way, nothing is judged.
        young = await _reconciler(app_settings, lkapi, engine, store, 3600).run_once()
        assert gone.room not in young.released and await store.active(gone.id) is not None
        # (Other tests' discussions in this database have no room either: they go too.)
        done = await _reconciler(app_settings, lkapi, engine, store, 0).run_once()
        assert gone.room in done.released and gone.room in done.lost
        assert kept.room not in done.released
        row = await discussion_row(engine, discussion_id(gone.id))
        assert row.outcome == "lost" and row.ended_at is not None
        assert await store.active(gone.id) is None
        assert [await store.match_of(u) for u in gone.users] == [None, None]
        # Both may queue again.
        assert not isinstance(await store.join(gone.seats[0].ticket, time.time()), tuple)
        # The discussion whose room exists is untouched, in Postgres and in Redis.
        assert (await discussion_row(engine, discussion_id(kept.id))).ended_at is None
        assert await store.active(kept.id) is not None
        assert await store.match_of(kept.users[0]) == kept.id
        # A second run finds nothing more to do.
        again = await _reconciler(app_settings, lkapi, engine, store, 0).run_once()
        assert gone.room not in again.released and kept.room not in again.released
    finally:
        await lkapi.room.delete_room(lk.DeleteRoomRequest(room=kept.room))


async def test_old_webhook_event_ids_are_pruned(
    engine: AsyncEngine, store: LobbyStore, lkapi: lk.LiveKitAPI, app_settings: Settings
) -> None:
    old, new = f"EV_old_{secrets.token_hex(6)}", f"EV_new_{secrets.token_hex(6)}"
    retention = dt.timedelta(seconds=app_settings.webhook_retention)
    async with engine.begin() as conn:
        await conn.execute(
            webhook_events.insert().values(
                id=old,
                event="room_finished",
                received_at=dt.datetime.now(dt.UTC) - retention - dt.timedelta(hours=1),
            )
        )
        await conn.execute(webhook_events.insert().values(id=new, event="room_finished"))
    done = await _reconciler(app_settings, lkapi, engine, store, 3600).run_once()
    assert done.webhook_events >= 1
    async with engine.connect() as conn:
        ids = {
            r[0]
            for r in await conn.execute(
                sa.select(webhook_events.c.id).where(webhook_events.c.id.in_([old, new]))
            )
        }
    assert ids == {new}
