"""Lookups made one key at a time by many concurrent handlers, answered a batch at a time.

A burst of lobby joins (a hundred people arriving at once) each needs its display name from
Postgres. One query per join queued those joins behind the connection pool: measured in the
100-client crowd test, the name took up to 600 ms of a join. `Batcher.get` instead waits one
turn of the event loop, so every join that arrived meanwhile is answered by one query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batcher(Generic[K, V]):
    """`get(key)` resolves to `fetch(keys)[key]` (None if absent), where `fetch` gets every key
    asked for while the previous batch was out, at most `limit` at a time. A failing fetch
    fails the gets of its batch only."""

    def __init__(
        self, fetch: Callable[[Collection[K]], Awaitable[Mapping[K, V]]], limit: int = 500
    ) -> None:
        self._fetch = fetch
        self._limit = limit
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._running: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._running is None:
            self._running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: dict[K, list[asyncio.Future[V | None]]] = {}
        try:
            await asyncio.sleep(0)  # let this turn's callers join the batch
            while self._waiting:
                keys = list(self._waiting)[: self._limit]
                batch = {k: self._waiting.pop(k) for k in keys}
                try:
                    found = await self._fetch(keys)
                except Exception as e:
                    for f in _pending(batch):
                        f.set_exception(e)
                    continue
                for k, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(found.get(k))
        except asyncio.CancelledError:
            # Shutting down: nobody is left waiting forever.
            for f in [*_pending(batch), *_pending(self._waiting)]:
                f.cancel()
            self._waiting.clear()
            raise
        finally:
            self._running = None


def _pending(batch: Mapping[K, list[asyncio.Future[V | None]]]) -> list[asyncio.Future[V | None]]:
    return [f for futures in batch.values() for f in futures if not f.done()]
