"""The agent worker, run for real (`python -m agent.worker start`) against the test stack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.keeper import Keeper
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from scripts.redis_server import RedisServer
from scripts.stack import Stack
from tests.support.livekit import server_api
from tests.support.lobby_clients import add_topics, lobby_rooms, wait_for_agent
from tests.support.worker import Worker, own_settings, start_worker


@pytest.fixture(scope="session")
def worker(stack: Stack, settings: Settings) -> Iterator[Worker]:
    w = start_worker(stack, settings)
    yield w
    w.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, in its temporary folder, stopped after the test."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


# -- the lobby ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
async def db_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(settings.async_database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def lkapi(settings: Settings) -> AsyncIterator[api.LiveKitAPI]:
    client = server_api(settings)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def topic_pool(db_engine: AsyncEngine) -> list[str]:
    """Topics made before the lobby agent loads them; each test takes its own."""
    return await add_topics(db_engine, 80)


@pytest.fixture
def topic(topic_pool: list[str]) -> str:
    return topic_pool.pop()


@pytest.fixture(scope="session")
async def lobby(
    worker: Worker, settings: Settings, lkapi: api.LiveKitAPI, topic_pool: list[str]
) -> AsyncIterator[Keeper]:
    """The session's lobby room with its agent in it, dispatched by the API's keeper. Closing
    the room ends the lobby job, so the worker can drain and stop."""
    keeper = Keeper(settings, lkapi)
    await wait_for_agent(settings, lkapi, keeper=keeper)
    yield keeper
    for room in lobby_rooms(settings):
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
    # Discussion rooms the lobby opened and tests left behind hold moderator jobs.
    redis = open_redis(settings.redis_url)
    for match in await LobbyStore(redis, settings.redis_prefix).all_active():
        with contextlib.suppress(Exception):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=match.room))
    await redis.aclose()


@contextlib.asynccontextmanager
async def own_lobby(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, name: str, **changes: Any
) -> AsyncIterator[tuple[Settings, Worker, Keeper]]:
    """A lobby of a test's own: its own agent name, worker, lobby room and Redis prefix, with
    `changes` to the settings (a short accept timeout, `lobby_shards=3`, ...). It returns once
    every shard's agent is in its room."""
    mine = own_settings(settings, name, **changes)
    w = await asyncio.to_thread(start_worker, stack, mine, f"worker-{mine.agent_name}")
    keeper = Keeper(mine, lkapi)
    try:
        await wait_for_agent(mine, lkapi, keeper=keeper)
        await keeper.ensure()  # as its periodic check would: it has seen the agents arrive
        yield mine, w, keeper
    finally:
        for room in lobby_rooms(mine):
            with contextlib.suppress(Exception):
                await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
        if w.proc.poll() is None:
            w.proc.kill()
            await asyncio.to_thread(w.proc.wait, 15)
