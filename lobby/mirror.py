"""What the lobby keeps of Postgres in Redis, so it goes on pairing while Postgres is away,
and what it could not write there meanwhile. Thin adapter, like lobby.store.

Keys (the lobby's hash tag, see lobby.store):
  {p}:name:<user>     STRING the account's display name, as last read from Postgres
  {p}:blocks:<user>   SET everyone the user blocked or was blocked by. The lobby agent
                      replaces it from Postgres whenever it reads the name; the API adds
                      to it when a block is made (after the row is committed).
  {p}:outbox          LIST match JSON of discussions whose row could not be written when their
                      room opened; the lobby agent writes them once Postgres answers again.

A user's name and blocks are written together with one TTL (`PROFILE_TTL`, refreshed on every
read from Postgres): the lobby trusts a user's blocks only while it has their name, so a person
it knows nothing of is not paired (nor let in) until Postgres answers. The mirror holds at
least every block Postgres holds for those users; an unblock shows in it when the agent next
reads the user from Postgres.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from redis.asyncio import Redis

from lobby import codec
from lobby.model import Match

# A day: long enough for anyone seen recently, short enough that nothing grows without end.
PROFILE_TTL = 86_400


class Mirror:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix
        self._outbox = f"{{{prefix}}}:outbox"

    def _name_key(self, user: str) -> str:
        return f"{{{self.prefix}}}:name:{user}"

    def _blocks_key(self, user: str) -> str:
        return f"{{{self.prefix}}}:blocks:{user}"

    # -- names and blocks --------------------------------------------------------------------
    async def remember(self, names: Mapping[str, str], blocks: Mapping[str, set[str]]) -> None:
        """Replace what is kept of these users (their names, and blocks as read with them)."""
        if not names:
            return
        async with self.redis.pipeline(transaction=True) as p:
            for user, name in names.items():
                p.set(self._name_key(user), name, ex=PROFILE_TTL)
                p.delete(self._blocks_key(user))
                if theirs := blocks.get(user):
                    p.sadd(self._blocks_key(user), *theirs)
                    p.expire(self._blocks_key(user), PROFILE_TTL)
            await p.execute()

    async def add_blocks(self, blocks: Mapping[str, Collection[str]]) -> None:
        """Add blocks to what is kept (a key made here lives `PROFILE_TTL`)."""
        async with self.redis.pipeline(transaction=True) as p:
            for user, others in blocks.items():
                if others:
                    p.sadd(self._blocks_key(user), *others)
                    p.expire(self._blocks_key(user), PROFILE_TTL, nx=True)
            await p.execute()

    async def add_block(self, blocker: str, blocked: str) -> None:
        """A block was just committed to Postgres (the API's block route)."""
        await self.add_blocks({blocker: [blocked], blocked: [blocker]})

    async def names(self, users: Collection[str]) -> dict[str, str]:
        wanted = list(users)
        if not wanted:
            return {}
        found = await self.redis.mget([self._name_key(u) for u in wanted])
        return {u: str(n) for u, n in zip(wanted, found, strict=True) if n is not None}

    async def blocked_pairs(self, users: Collection[str]) -> tuple[set[frozenset[str]], set[str]]:
        """(pairs among `users` where either blocked the other, users the mirror does not know:
        their blocks cannot be vouched for)."""
        wanted = sorted(set(users))
        async with self.redis.pipeline(transaction=False) as p:
            for u in wanted:
                p.exists(self._name_key(u))
                p.smembers(self._blocks_key(u))
            found = await p.execute()
        among = set(wanted)
        pairs: set[frozenset[str]] = set()
        unknown: set[str] = set()
        for n, u in enumerate(wanted):
            if not found[2 * n]:
                unknown.add(u)
            pairs.update(frozenset((u, str(v))) for v in found[2 * n + 1] if str(v) in among)
        return pairs, unknown

    # -- the outbox of discussion rows -------------------------------------------------------
    async def keep_discussion(self, match: Match) -> None:
        await self.redis.rpush(self._outbox, codec.match_json(match))

    async def kept_discussions(self, limit: int = 100) -> list[str]:
        return [str(x) for x in await self.redis.lrange(self._outbox, 0, limit - 1)]

    async def discussion_written(self, raw: str) -> None:
        await self.redis.lrem(self._outbox, 1, raw)
