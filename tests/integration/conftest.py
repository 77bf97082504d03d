"""The agent worker, run for real (`python -m agent.worker start`) against the test stack."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen, TimeoutExpired
from typing import Any

import pytest
from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.keeper import Keeper
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from scripts.stack import Stack
from tests.integration.lobby_clients import add_topics, wait_for_agent


@dataclass
class Worker:
    proc: Popen[bytes]
    log: Path
    env: dict[str, str]

    def stop(self, grace: float = 10) -> None:
        """SIGTERM, then SIGKILL: the worker drains its jobs on SIGTERM, which may outlast a
        test session's patience when a moderator job is still winding up."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a DISCO process use exactly these settings."""
    return {
        "LIVEKIT_URL": settings.livekit_url,
        "LIVEKIT_API_KEY": settings.livekit_api_key,
        "LIVEKIT_API_SECRET": settings.livekit_api_secret,
        "REDIS_URL": settings.redis_url,
        "DATABASE_URL": settings.database_url,
        "DISCO_JWT_SECRET": settings.jwt_secret,
        "DISCO_REDIS_PREFIX": settings.redis_prefix,
        "DISCO_LOBBY_ROOM": settings.lobby_room,
        "DISCO_AGENT_NAME": settings.agent_name,
        "DISCO_API_PORT": str(settings.api_port),
        "DISCO_ACCEPT_TIMEOUT": str(settings.accept_timeout),
        "DISCO_REMATCH_COOLDOWN": str(settings.rematch_cooldown),
        "DISCO_FORMATS_FILE": settings.formats_file,
        "DISCO_FLOOD_RPC_RATE": str(settings.flood_rpc_rate),
        "DISCO_FLOOD_PACKET_RATE": str(settings.flood_packet_rate),
        "DISCO_FLOOD_WINDOW": str(settings.flood_window),
        "DISCO_FLOOD_BAN": str(settings.flood_ban),
        "DISCO_ENV": settings.environment,
        "DISCO_REGISTER_LIMIT": str(settings.register_limit),
        "DISCO_REDIS_TIMEOUT": str(settings.redis_timeout),
        "DISCO_DATABASE_TIMEOUT": str(settings.database_timeout),
        "DISCO_OUTAGE_RETRY_AFTER": str(settings.outage_retry_after),
    }


def start_worker(stack: Stack, settings: Settings, name: str = "worker") -> Worker:
    env = {**os.environ, **settings_env(settings)}
    proc = stack.spawn(name, [sys.executable, "-m", "agent.worker", "start"], env)
    log = stack.run_dir / f"{name}.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"agent worker exited with {proc.returncode}; see {log}")
        if log.exists() and "registered worker" in log.read_text(errors="replace"):
            return Worker(proc, log, env)
        time.sleep(0.1)
    raise RuntimeError(f"agent worker did not register within 60 s; see {log}")


@pytest.fixture(scope="session")
def worker(stack: Stack, settings: Settings) -> Iterator[Worker]:
    w = start_worker(stack, settings)
    yield w
    w.stop()


# -- the lobby (issue 3) ------------------------------------------------------------------------
@pytest.fixture(scope="session")
async def db_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(settings.async_database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def lkapi(settings: Settings) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
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
    await keeper.ensure()
    await wait_for_agent(settings, lkapi)
    yield keeper
    await lkapi.room.delete_room(api.DeleteRoomRequest(room=settings.lobby_room))
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
    `changes` to the settings (a short accept timeout, ...)."""
    tag = secrets.token_hex(4)
    mine = dataclasses.replace(
        settings,
        agent_name=f"disco-{name}-{tag}",
        lobby_room=f"lobby-{name}-{tag}",
        redis_prefix=f"{settings.redis_prefix}{name}{tag}",
        **changes,
    )
    w = await asyncio.to_thread(start_worker, stack, mine, f"worker-{name}-{tag}")
    keeper = Keeper(mine, lkapi)
    try:
        await keeper.ensure()
        await wait_for_agent(mine, lkapi)
        await keeper.ensure()  # as its periodic check would: it has seen the agent arrive
        yield mine, w, keeper
    finally:
        with contextlib.suppress(Exception):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))
        if w.proc.poll() is None:
            w.proc.kill()
            await asyncio.to_thread(w.proc.wait, 15)
