"""Agents' heartbeats in Redis, `{p}:beat:<room>` (lobby/store.py has the key map): the time the
agent serving a room last said it was alive, written every `PERIOD` seconds.

LiveKit keeps listing a participant whose process was killed for about 20 s (until it gives up
on the dead connection), so "listed in the room" does not mean "serving it": the API's keeper
replaces a listed lobby agent whose heartbeat has stopped. (A moderator's heartbeat is the
time it last wrote its debate, lobby/debate_states.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

PERIOD = 1.0
# A heartbeat this old is an agent gone; one older than the TTL is no record at all.
STALE = 5.0
TTL = 3600


@dataclass(frozen=True, slots=True)
class Heartbeats:
    """The agents' heartbeats under one key prefix (`Settings.redis_prefix`): agents `beat`,
    the API's keeper reads `written_at`."""

    redis: Redis
    prefix: str

    def key(self, room: str) -> str:
        return f"{{{self.prefix}}}:beat:{room}"

    async def beat(self, room: str, at: float) -> None:
        await self.redis.set(self.key(room), repr(float(at)), ex=TTL)

    async def written_at(self, room: str) -> float | None:
        raw = await self.redis.get(self.key(room))
        return None if raw is None else float(raw)
