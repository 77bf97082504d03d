"""The lobby and spectator identities and flooding bans in Redis, part of `LobbyStore`
(lobby/store.py has the key map): an opaque lobby identity maps to its user both ways for the
token's life, along with the lobby shard whose room the identity may join, and a user kept out
for flooding gets no new identity until the ban runs out. A spectator's opaque identity maps to
its user and room for as long as a watch can last.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from lobby.contract import SPECTATOR_PREFIX

# How long a spectator identity stays known after its last token (seconds): longer than any
# debate, so the webhook of a spectator leaving still finds whose identity it was.
SPECTATOR_KEEP = 6 * 3600


def text(value: bytes | str) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class Seat:
    """Where a user sits in the lobby: their newest lobby identity (None: no lobby connection
    now) and the shard whose room it may join."""

    identity: str | None
    shard: int

    def owner(self, shards: int) -> int:
        """The shard that tells this user: theirs; shard 0 for a user with no lobby identity or
        seated in a shard that is no longer configured (the shard count went down)."""
        return self.shard if self.identity is not None and self.shard < shards else 0


@dataclass(frozen=True, slots=True)
class Standing:
    """A user's seat, and the seconds left of a flooding ban (0: none)."""

    identity: str | None
    shard: int
    banned: int


def _text(value: bytes | str | None) -> str | None:
    return text(value) if value else None


def _shard(value: bytes | str | None) -> int:
    # Identities recorded before the lobby had shards carry none: they sit in shard 0.
    return int(text(value)) if value else 0


class LobbyIdentities:
    """Mixed into `LobbyStore`, which sets these attributes."""

    redis: Redis
    prefix: str
    _issue_identity: Any  # the registered ISSUE_IDENTITY script (lobby/store_lua.py)

    def _identity_key(self, user: str) -> str:
        return f"{{{self.prefix}}}:lobbyIdentity:{user}"

    def _user_key(self, identity: str) -> str:
        return f"{{{self.prefix}}}:lobbyUser:{identity}"

    def _shard_key(self, user: str) -> str:
        return f"{{{self.prefix}}}:lobbyShard:{user}"

    def _flooding_key(self, user: str) -> str:
        return f"{{{self.prefix}}}:flooding:{user}"

    async def issue_identity(self, identity: str, user: str, ttl: int, shard: int = 0) -> int:
        """Map a new lobby identity to `user` both ways for `ttl` seconds, seated in lobby
        shard `shard` (the newest identity of a user replaces the one before) and return 0; or,
        while the user is kept out for flooding, write nothing and return the seconds left."""
        keys = [self._flooding_key(user), self._user_key(identity), self._identity_key(user)]
        keys.append(self._shard_key(user))
        return int(await self._issue_identity(keys=keys, args=[user, identity, ttl, shard]))

    async def users_of(self, identities: Sequence[str]) -> dict[str, str]:
        """identity -> user, for the identities that have one."""
        if not identities:
            return {}
        found = await self.redis.mget([self._user_key(i) for i in identities])
        return {i: text(u) for i, u in zip(identities, found, strict=True) if u}

    async def identities_of(self, users: Sequence[str]) -> dict[str, str]:
        """user -> newest lobby identity, for the users that have one."""
        if not users:
            return {}
        found = await self.redis.mget([self._identity_key(u) for u in users])
        return {u: text(i) for u, i in zip(users, found, strict=True) if i}

    async def seats(self, users: Sequence[str]) -> dict[str, Seat]:
        """Each user's newest lobby identity and its shard, in one round trip."""
        if not users:
            return {}
        keys = [k for u in users for k in (self._identity_key(u), self._shard_key(u))]
        found = await self.redis.mget(keys)
        return {u: Seat(_text(found[2 * n]), _shard(found[2 * n + 1])) for n, u in enumerate(users)}

    async def standings(self, users: Sequence[str]) -> dict[str, Standing]:
        """Each user's seat and flooding ban, in one round trip."""
        async with self.redis.pipeline(transaction=False) as p:
            for u in users:
                p.get(self._identity_key(u))
                p.get(self._shard_key(u))
                p.ttl(self._flooding_key(u))
            found = await p.execute()
        return {
            u: Standing(
                _text(found[3 * n]),
                _shard(found[3 * n + 1]),
                max(0, int(found[3 * n + 2])),
            )
            for n, u in enumerate(users)
        }

    async def keep_identities(self, pairs: Iterable[tuple[str, str]], ttl: int) -> None:
        """Keep the mappings of these (identity, user) connections for another `ttl` seconds:
        LiveKit keeps a connection beyond its token's life, and the mapping must outlast it."""
        async with self.redis.pipeline(transaction=False) as p:
            for identity, user in pairs:
                p.expire(self._user_key(identity), ttl)
                p.expire(self._identity_key(user), ttl)
                p.expire(self._shard_key(user), ttl)
            await p.execute()

    def _spectator_key(self, identity: str) -> str:
        return f"{{{self.prefix}}}:spectator:{identity}"

    def _spectator_identity_key(self, room: str, user: str) -> str:
        return f"{{{self.prefix}}}:spectatorIdentity:{room}:{user}"

    async def spectator_identity(self, room: str, user: str) -> str:
        """The user's spectator identity in this room: 128 random bits, the same one on every
        renewal, so one person is one spectator (LiveKit lets an identity in once: a second
        tab replaces the first) and strangers learn nothing of who watches."""
        key = self._spectator_identity_key(room, user)
        fresh = SPECTATOR_PREFIX + secrets.token_urlsafe(16)
        await self.redis.set(key, fresh, nx=True, ex=SPECTATOR_KEEP)
        identity = text(await self.redis.get(key) or fresh)
        async with self.redis.pipeline(transaction=True) as p:
            p.expire(key, SPECTATOR_KEEP)
            p.hset(self._spectator_key(identity), mapping={"user": user, "room": room})
            p.expire(self._spectator_key(identity), SPECTATOR_KEEP)
            await p.execute()
        return identity

    async def spectator(self, identity: str) -> tuple[str, str] | None:
        """(user, room) of a spectator identity the API minted, or None."""
        found = await self.redis.hmget(self._spectator_key(identity), ["user", "room"])
        if not found[0] or not found[1]:
            return None
        return text(found[0]), text(found[1])

    async def flag_flooding(self, user: str, seconds: int) -> None:
        await self.redis.set(self._flooding_key(user), "1", ex=seconds)

    async def flooding(self, user: str) -> int:
        """Seconds left of the user's flooding ban; 0 when there is none."""
        return max(0, int(await self.redis.ttl(self._flooding_key(user))))
