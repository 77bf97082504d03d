"""Pruning of the lobby's shared Redis hashes (lobby.upkeep) against the real Redis: what has
run out or lost its match goes, everything still in use stays; event counters have a TTL."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator

import pytest

from lobby.settings import Settings
from lobby.store import SEQ_TTL, LobbyStore, open_redis
from lobby.upkeep import prune


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[LobbyStore]:
    redis = open_redis(settings.redis_url)
    yield LobbyStore(redis, f"u{secrets.token_hex(4)}")
    await redis.aclose()


async def test_prune_removes_what_ran_out_or_lost_its_match(store: LobbyStore) -> None:
    r, k, now = store.redis, store.keys, 1000.0
    await r.hset(k["pendingMatches"], "m-pending", "{}")
    await r.hset(k["activeMatches"], "m-active", "{}")
    await r.hset(
        k["recent"],
        mapping={
            "over": json.dumps({"x": now - 1, "y": now}),
            "running": json.dumps({"x": now - 1, "y": now + 5}),
        },
    )
    await r.hset(k["matchOf"], mapping={"p": "m-pending", "a": "m-active", "orphan": "m-gone"})
    await r.hset(k["rooms"], mapping={"room-a": "m-active", "room-gone": "m-gone"})
    # Past one page, so the scan's cursor is followed to the end.
    await r.hset(k["recent"], mapping={f"old{i}": json.dumps({"x": 1}) for i in range(30)})
    done = await prune(store, now, page=7)
    assert (done.recent, done.match_of, done.rooms) == (31, 1, 1)
    assert await r.hkeys(k["recent"]) == ["running"]
    assert sorted(await r.hkeys(k["matchOf"])) == ["a", "p"]
    assert await r.hkeys(k["rooms"]) == ["room-a"]
    assert (await prune(store, now)).recent == 0


async def test_event_counters_count_up_and_expire(store: LobbyStore) -> None:
    assert await store.next_seqs(["a", "b"]) == {"a": 1, "b": 1}
    assert await store.next_seqs(["a"]) == {"a": 2}
    ttl = await store.redis.ttl(f"{{{store.prefix}}}:seq:a")
    assert 0 < ttl <= SEQ_TTL
