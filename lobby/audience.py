"""A public debate's live audience in Redis: who is watching (from LiveKit's webhooks, written
by the API) and the phase the moderator shows (written by the moderator), so the API can list
live debates and the moderator can publish its audience without either seeing the other.

Keys (the store's hash tag, lobby/store.py has the full map):
  {p}:audience:<room>   HASH spectator identity -> the time of the last webhook about it,
                        positive for a join, negative for a leave; TTL `KEEP`, renewed by
                        each event, deleted when the room finishes
  {p}:livePhase:<room>  STRING the moderator's phase (or status) in that room; TTL `PHASE_TTL`,
                        renewed every few seconds while the moderator runs
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from lobby.identities import text

KEEP = 6 * 3600
PHASE_TTL = 30

# LiveKit may deliver webhooks late, twice, or out of order: an event counts only when it is
# newer than the last one about that identity (a leave wins a tie), so a join delivered after
# its leave never brings a spectator back.
_SEEN = """
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local t = tonumber(ARGV[2])
if math.abs(t) > math.abs(cur) or (math.abs(t) == math.abs(cur) and t < 0) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class Audiences:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._seen = redis.register_script(_SEEN)

    def _audience_key(self, room: str) -> str:
        return f"{{{self.prefix}}}:audience:{room}"

    def _phase_key(self, room: str) -> str:
        return f"{{{self.prefix}}}:livePhase:{room}"

    async def joined(self, room: str, identity: str, at: int) -> None:
        await self._seen(keys=[self._audience_key(room)], args=[identity, max(1, at), KEEP])

    async def left(self, room: str, identity: str, at: int) -> None:
        await self._seen(keys=[self._audience_key(room)], args=[identity, -max(1, at), KEEP])

    async def count(self, room: str) -> int:
        return _watching(await self.redis.hvals(self._audience_key(room)))

    async def watchers(self, room: str) -> list[str]:
        """The spectator identities watching the room now (joined, not left since)."""
        found = await self.redis.hgetall(self._audience_key(room))
        return sorted(text(k) for k, v in found.items() if _joined(v))

    async def live(self, rooms: Sequence[str]) -> dict[str, tuple[int, str]]:
        """room -> (spectators, phase) in one round trip; phase is '' when no moderator wrote
        one lately."""
        async with self.redis.pipeline(transaction=False) as p:
            for room in rooms:
                p.hvals(self._audience_key(room))
                p.get(self._phase_key(room))
            found = await p.execute()
        return {
            room: (_watching(found[2 * n]), text(found[2 * n + 1] or ""))
            for n, room in enumerate(rooms)
        }

    async def shown(self, phases: Mapping[str, str]) -> dict[str, int]:
        """Write the phase each room's moderator shows; room -> spectators, in one round trip
        for them all."""
        async with self.redis.pipeline(transaction=False) as p:
            for room, phase in phases.items():
                p.set(self._phase_key(room), phase, ex=PHASE_TTL)
                p.hvals(self._audience_key(room))
            found = await p.execute()
        return {room: _watching(found[2 * n + 1]) for n, room in enumerate(phases)}

    async def clear(self, room: str) -> None:
        await self.redis.delete(self._audience_key(room), self._phase_key(room))


def _joined(value: bytes | str) -> bool:
    """An identity's last event was a join (positive), not a leave (negative)."""
    return int(value) > 0


def _watching(values: list[bytes | str]) -> int:
    return sum(1 for v in values if _joined(v))
