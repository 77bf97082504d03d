"""The keeper's lease in Redis (lobby/lease.py): one holder at a time; the holder renews it;
another takes it once the holder releases it or stops renewing; a holder whose lease ran out
never extends or deletes the one another took since."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from lobby.lease import Lease
from lobby.settings import Settings
from lobby.store import open_redis
from tests.support.wait import eventually


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = open_redis(settings.redis_url)
    yield client
    await client.aclose()


def _pair(redis: Redis, ttl: float) -> tuple[Lease, Lease]:
    prefix = f"lease{secrets.token_hex(4)}"
    return Lease(redis, prefix, "keeper", ttl), Lease(redis, prefix, "keeper", ttl)


async def test_one_holder_at_a_time_until_it_releases(redis: Redis) -> None:
    first, second = _pair(redis, 15.0)
    assert await first.hold() and first.held()
    assert not await second.hold() and not second.held()
    assert await first.hold(), "the holder renews its own lease"
    await first.release()
    assert not first.held()
    assert await second.hold() and second.held()
    assert not await first.hold()


async def test_a_holder_that_stops_renewing_loses_the_lease(redis: Redis) -> None:
    first, second = _pair(redis, 1.0)
    assert await first.hold()
    await eventually(lambda: not first.held(), "the holder stops trusting its lease", 5)
    took = await eventually(second.hold, "another takes the lease over", 5)
    assert took and second.held()
    # The old holder comes back: it neither takes, renews nor deletes the other's lease.
    assert not await first.hold()
    await first.release()
    assert await redis.get(second.key) == second.holder
