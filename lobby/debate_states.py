"""The debate of each discussion room in Redis, `{p}:debate:<room>` (lobby/store.py has the
key map).

Kept by the room's moderator agent, so that a moderator dispatched after it died goes on
from there (docs/PROTOCOL.md, "When the moderator restarts"). The moderator writes the record
when its debate changes, and `at` every second (its worker writes every room's in one round
trip, `beat`), so `at` is its heartbeat for the API's supervisor, and the time from which a
successor counts the time nobody moderated; the TTL only has to outlast a moderator's
absence, and clears the rooms that ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from lobby.identities import text

DEBATE_STATE_TTL = 3600


class DebateStates:
    """One HASH per discussion room, `{p}:debate:<room>`: `record`, the moderator's JSON record
    of the room's debate (the agent's `agent.state.Record` reads and writes it; to Redis it is
    text), and `at`, when the moderator wrote it (epoch seconds)."""

    def __init__(self, redis: Redis, prefix: str, ttl: int = DEBATE_STATE_TTL) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    def key(self, room: str) -> str:
        return f"{{{self.prefix}}}:debate:{room}"

    async def save(self, room: str, record: str, at: float) -> None:
        async with self.redis.pipeline(transaction=True) as p:
            p.hset(self.key(room), mapping={"record": record, "at": repr(float(at))})
            p.expire(self.key(room), self.ttl)
            await p.execute()

    async def beat(self, rooms: Mapping[str, float]) -> None:
        """Each room's moderator was alive at its time: one round trip for them all."""
        async with self.redis.pipeline(transaction=False) as p:
            for room, at in rooms.items():
                p.hset(self.key(room), "at", repr(float(at)))
                p.expire(self.key(room), self.ttl)
            await p.execute()

    async def load(self, room: str) -> tuple[str, float | None] | None:
        """The room's record, and when its moderator last beat (None: no record)."""
        raw, at = await self.redis.hmget(self.key(room), ["record", "at"])
        return None if raw is None else (text(raw), None if at is None else float(at))

    async def written_at(self, rooms: Sequence[str]) -> dict[str, float | None]:
        """When each room's moderator last wrote its debate (None: never, or long ago)."""
        async with self.redis.pipeline(transaction=False) as p:
            for room in rooms:
                p.hget(self.key(room), "at")
            found = await p.execute()
        return {r: None if a is None else float(a) for r, a in zip(rooms, found, strict=True)}

    async def drop(self, room: str) -> None:
        await self.redis.delete(self.key(room))
