"""Trust and safety state in Redis: bans and holds (read on every token route and by the agents
when someone joins), the moderator agent's record of its room's chat, who reported during a
discussion, and the opaque identities human moderators join rooms with.

Postgres holds the lasting record (lobby/db/safety.py); these keys are what makes a decision
hold within seconds everywhere (every API process and agent reads them, none caches them).
The API's reconciler writes the bans and holds again from Postgres, so a Redis that lost them
has them back within one period.

Keys (under the lobby's hash tag; lobby/store.py has the full map):
  {p}:banned:<user>     STRING the ban's end (epoch seconds, or "permanent"); TTL: the ban
  {p}:held:<user>       STRING "1" while held for review; TTL `HOLD_TTL`, renewed by the
                        reconciler while the hold lasts
  {p}:chat:<room>       LIST of JSON {"from", "text", "at"}: the room's chat as the moderator
                        agent heard it, oldest first, at most `CHAT_LINES`; TTL `CHAT_TTL`,
                        deleted when the room finishes
  {p}:reporters:<room>  SET of users who reported during the discussion; TTL `CHAT_TTL`,
                        deleted when the room finishes
  {p}:modUser:<identity> STRING the user behind a human moderator's opaque room identity;
                        TTL `MOD_IDENTITY_TTL`
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from lobby.identities import text

PERMANENT = "permanent"
# A discussion lasts minutes; its chat record is gone at the end, or after this at the latest.
CHAT_TTL = 6 * 3600
CHAT_LINES = 500
CHAT_TEXT = 2000
HOLD_TTL = 7 * 24 * 3600
# A moderator's room connection outlives its token (LiveKit renews it while connected).
MOD_IDENTITY_TTL = 24 * 3600


@dataclass(frozen=True, slots=True)
class Standing:
    """Whether a user may use DISCO now: `banned_until` is epoch seconds (None: not banned,
    `permanent` for a ban without end); `held` keeps them out of matching only."""

    banned_until: float | None = None
    permanent: bool = False
    held: bool = False

    @property
    def banned(self) -> bool:
        return self.permanent or self.banned_until is not None


@dataclass(frozen=True, slots=True)
class ChatLine:
    sender: str
    text: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"from": self.sender, "text": self.text, "at": round(self.at * 1000)}


class Sanctions:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, kind: str, name: str) -> str:
        return f"{{{self.prefix}}}:{kind}:{name}"

    # -- bans and holds --------------------------------------------------------------------
    async def ban(self, user: str, until: float | None, now: float) -> None:
        """Ban until `until` (epoch seconds), or for good with None."""
        key = self._key("banned", user)
        if until is None:
            await self.redis.set(key, PERMANENT)
        elif until > now:
            await self.redis.set(key, repr(until), ex=max(1, math.ceil(until - now)))
        else:
            await self.redis.delete(key)

    async def unban(self, user: str) -> None:
        await self.redis.delete(self._key("banned", user))

    async def hold(self, user: str) -> None:
        await self.redis.set(self._key("held", user), "1", ex=HOLD_TTL)

    async def release(self, user: str) -> None:
        await self.redis.delete(self._key("held", user))

    async def standing(self, user: str) -> Standing:
        return (await self.standings([user]))[user]

    async def standings(self, users: Sequence[str]) -> dict[str, Standing]:
        """Each user's ban and hold, in one round trip."""
        if not users:
            return {}
        keys = [self._key(k, u) for u in users for k in ("banned", "held")]
        found = await self.redis.mget(keys)
        out = {}
        for n, user in enumerate(users):
            banned, held = found[2 * n], found[2 * n + 1]
            until = None if banned is None else text(banned)
            out[user] = Standing(
                banned_until=None if until in (None, PERMANENT) else float(until),
                permanent=until == PERMANENT,
                held=held is not None,
            )
        return out

    async def barred(self, users: Sequence[str]) -> set[str]:
        """The users among these who may not be matched: banned or held."""
        found = await self.standings(users)
        return {u for u, s in found.items() if s.banned or s.held}

    # -- the room's chat, as the moderator agent heard it ----------------------------------
    async def record_chat(self, room: str, line: ChatLine) -> None:
        key = self._key("chat", room)
        body = json.dumps(line.to_json(), separators=(",", ":"))
        async with self.redis.pipeline(transaction=True) as p:
            p.rpush(key, body)
            p.ltrim(key, -CHAT_LINES, -1)
            p.expire(key, CHAT_TTL)
            await p.execute()

    async def chat(self, room: str) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(self._key("chat", room), 0, -1)
        return [json.loads(text(r)) for r in raw]

    async def note_reporter(self, room: str, user: str) -> None:
        key = self._key("reporters", room)
        async with self.redis.pipeline(transaction=True) as p:
            p.sadd(key, user)
            p.expire(key, CHAT_TTL)
            await p.execute()

    async def reported(self, room: str, user: str) -> bool:
        """Whether `user` reported their partner during this room's discussion."""
        return bool(await self.redis.sismember(self._key("reporters", room), user))

    async def forget_room(self, room: str) -> None:
        """The discussion is over: its chat record and reporters go (a report copied what it
        needed into Postgres)."""
        await self.redis.delete(self._key("chat", room), self._key("reporters", room))

    # -- human moderators' opaque identities -----------------------------------------------
    async def issue_moderator_identity(self, identity: str, user: str) -> None:
        await self.redis.set(self._key("modUser", identity), user, ex=MOD_IDENTITY_TTL)

    async def moderator_user(self, identity: str) -> str | None:
        found = await self.redis.get(self._key("modUser", identity))
        return None if found is None else text(found)
