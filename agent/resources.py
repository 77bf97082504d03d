"""One set of connections per worker process, shared by every job it runs: one SQLAlchemy
engine (Postgres), one Redis pool and one LiveKit API client, closed when the process ends.

A moderator used to open its own engine and LiveKit client, so 200 discussion rooms were 200
connection pools against Postgres's 200 connections. Sharing them is not a matter of passing
one object around: livekit-agents runs each job as a thread with an event loop of its own, and
an asyncio connection belongs to the loop that opened it. So the process's connections live on
one more loop, in a thread of their own, opened at the first job and closed at shutdown
(`close_shared`, called by agent/worker.py once the runner returns); a job holds `bridge`
proxies, whose every coroutine call is run on that loop and awaited from the job's own.
Cancelling the awaiting job cancels the call. The proxies never close what they share: their
`aclose` does nothing, so a job's teardown can stay as it is. What every moderator writes
while its debate stands still runs on that loop too, in one round for all of them
(`beats`, agent/room_beats.py), so an idle room costs no call across threads.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from livekit import api
from redis.asyncio import Redis

from agent.room_beats import RoomBeats
from lobby.audience import Audiences
from lobby.db import Database
from lobby.debate_states import DebateStates
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import open_redis

T = TypeVar("T")

# Connections of the shared pools: enough for a few hundred moderators (each writes a handful
# of rows in a discussion's life, and its debate to Redis when it changes; their heartbeats
# are one pipeline a second for them all) and a lobby.
DATABASE_POOL = 10
REDIS_POOL = 20
# The LiveKit API client's services a job calls through the bridge.
_LIVEKIT_SERVICES = frozenset({"room", "agent_dispatch"})


class _Bridge:
    """Runs the coroutine methods of `target` on `loop`; attributes named in `nested` are
    bridged in turn (a LiveKit client's services); anything else is returned as it is."""

    def __init__(
        self, target: object, loop: asyncio.AbstractEventLoop, nested: frozenset[str]
    ) -> None:
        self._target, self._loop, self._nested = target, loop, nested

    def __getattr__(self, name: str) -> Any:
        if name == "aclose":
            return _noop
        found = getattr(self._target, name)
        if name in self._nested:
            return _Bridge(found, self._loop, frozenset())
        if inspect.iscoroutinefunction(found):
            return self._call(found)
        return found

    def _call(self, method: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        loop = self._loop

        async def call(*args: Any, **kwargs: Any) -> Any:
            future = asyncio.run_coroutine_threadsafe(method(*args, **kwargs), loop)
            return await asyncio.wrap_future(future)

        return call


async def _noop() -> None:
    return None


def bridge(target: T, loop: asyncio.AbstractEventLoop, nested: frozenset[str] = frozenset()) -> T:
    """`target` as seen from another loop: its coroutine methods run on `loop`."""
    return cast(T, _Bridge(target, loop, nested))


class Resources:
    """The process's connections, on a loop of their own (the module docstring says why)."""

    def __init__(self, settings: Settings) -> None:
        self._loop = asyncio.new_event_loop()
        # A daemon: a process that ends without `close` (a crash) is not held up by it.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="disco-resources", daemon=True
        )
        self._thread.start()
        self._db, self._redis, self._lkapi = self._run(self._open(settings))
        self.prefix = settings.redis_prefix
        self.beats = RoomBeats(
            DebateStates(self._redis, self.prefix), Audiences(self._redis, self.prefix)
        )
        self._rounds = asyncio.run_coroutine_threadsafe(self.beats.run(), self._loop)

    async def _open(self, settings: Settings) -> tuple[Database, Redis, api.LiveKitAPI]:
        db = Database.connect(
            settings.async_database_url, settings.database_timeout, pool_size=DATABASE_POOL
        )
        redis = open_redis(
            settings.redis_url, timeout=settings.redis_timeout, max_connections=REDIS_POOL
        )
        lkapi = api.LiveKitAPI(
            settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
        )
        return db, redis, lkapi

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def db(self) -> Database:
        return bridge(self._db, self._loop)

    @property
    def lkapi(self) -> api.LiveKitAPI:
        return bridge(self._lkapi, self._loop, _LIVEKIT_SERVICES)

    def debate_states(self) -> DebateStates:
        return bridge(DebateStates(self._redis, self.prefix), self._loop)

    def sanctions(self) -> Sanctions:
        return bridge(Sanctions(self._redis, self.prefix), self._loop)

    def close(self) -> None:
        """Close every connection, then the loop and its thread."""
        self._rounds.cancel()
        try:
            self._run(self._close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _close(self) -> None:
        await asyncio.gather(
            self._db.aclose(), self._redis.aclose(), self._lkapi.aclose(), return_exceptions=True
        )


class _Holder:
    """The process's one `Resources`, opened by the first job that asks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.resources: Resources | None = None

    def get(self, settings: Settings) -> Resources:
        with self._lock:
            if self.resources is None:
                self.resources = Resources(settings)
            return self.resources

    def close(self) -> None:
        with self._lock:
            found, self.resources = self.resources, None
        if found is not None:
            found.close()


_HOLDER = _Holder()


def shared(settings: Settings) -> Resources:
    """This process's connections (opened now if no job has asked before)."""
    return _HOLDER.get(settings)


def close_shared() -> None:
    """Close this process's connections, if they were opened; at the process's end."""
    _HOLDER.close()
