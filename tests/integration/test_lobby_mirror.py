"""What the lobby keeps of Postgres in Redis (lobby.mirror, agent.lobby_profiles), against the
real servers; "Postgres away" is a real refused connection (a port nothing listens on)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.lobby_profiles import Profiles
from lobby import codec
from lobby.db import Database, discussion_id
from lobby.db.schema import discussions
from lobby.errors import Unavailable
from lobby.mirror import Mirror
from lobby.model import Match, Ticket
from lobby.settings import Settings
from lobby.store import open_redis
from scripts.stack import free_port
from tests.support.lobby_clients import add_users, block


@pytest.fixture
async def mirror(settings: Settings) -> AsyncIterator[Mirror]:
    redis = open_redis(settings.redis_url)
    yield Mirror(redis, f"{settings.redis_prefix}m{secrets.token_hex(4)}")
    await redis.aclose()


@pytest.fixture
async def dbs(settings: Settings) -> AsyncIterator[tuple[Database, Database]]:
    up = Database.connect(settings.async_database_url, 3)
    away = Database.connect(f"postgresql+asyncpg://disco@127.0.0.1:{free_port()}/disco", 1)
    yield up, away
    await up.aclose()
    await away.aclose()


async def test_names_and_blocks_carry_the_lobby_through_an_outage(
    db_engine: AsyncEngine, mirror: Mirror, dbs: tuple[Database, Database]
) -> None:
    a, b, c, stranger = await add_users(db_engine, 4)
    await block(db_engine, a, b)
    up, away = dbs
    online = Profiles(up, mirror, 5)
    assert [await online.name(p.id) for p in (a, b, c)] == [a.name, b.name, c.name]

    offline = Profiles(away, mirror, 5)
    started = time.monotonic()
    assert await offline.name(a.id) == a.name
    assert time.monotonic() - started < 10  # fails fast, never hangs
    with pytest.raises(Unavailable) as refused:
        await offline.name(stranger.id)
    assert refused.value.data() == '{"error": "unavailable", "retry_after": 5}'
    blocked, unknown = await offline.blocked_pairs([a.id, b.id, c.id, stranger.id])
    assert blocked == {frozenset((a.id, b.id))}
    assert unknown == {stranger.id}


async def test_a_block_made_after_the_names_were_read_is_mirrored(
    db_engine: AsyncEngine, mirror: Mirror, dbs: tuple[Database, Database]
) -> None:
    a, b = await add_users(db_engine, 2)
    up, away = dbs
    await Profiles(up, mirror, 5).name(a.id)
    await Profiles(up, mirror, 5).name(b.id)
    await block(db_engine, b, a)
    await mirror.add_block(b.id, a.id)  # what the API's block route does after its commit
    blocked, unknown = await Profiles(away, mirror, 5).blocked_pairs([a.id, b.id])
    assert blocked == {frozenset((a.id, b.id))} and unknown == set()


async def test_a_discussion_row_kept_while_postgres_is_away_is_written_later(
    db_engine: AsyncEngine, mirror: Mirror, dbs: tuple[Database, Database], topic: str
) -> None:
    a, b = await add_users(db_engine, 2)
    up, away = dbs
    now = time.time()
    ta = Ticket(a.id, a.name, topic, "casual", None, now)
    tb = Ticket(b.id, b.name, topic, "casual", None, now)
    mid = uuid.uuid4().hex
    match = Match.proposal(mid, f"disco-{mid}", ta, None, tb, None, now, now + 20)
    await Profiles(away, mirror, 5).start_discussion(match)
    assert await mirror.kept_discussions() == [codec.match_json(match)]
    assert await _rows(db_engine, mid) == 0
    await Profiles(up, mirror, 5).write_kept()
    assert await _rows(db_engine, mid) == 1
    assert await mirror.kept_discussions() == []


async def _rows(engine: AsyncEngine, match_id: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(discussions.c.id == discussion_id(match_id))
        return int(await conn.scalar(query) or 0)
