"""The display names and blocks of the people in the lobby, and the discussion rows it writes:
from and to Postgres while it answers, from and to Redis (lobby.mirror) while it does not.

So during a Postgres outage the lobby still lets in and pairs everyone it has read from
Postgres within a day (their names and blocks are mirrored), never pairs two people whose
block it cannot vouch for, and keeps the discussion row of each room it opens in an outbox
that a loop writes once Postgres is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from agent.batching import Batcher
from lobby import codec
from lobby.db import Database, discussion_id
from lobby.errors import Unavailable
from lobby.formats import Format
from lobby.mirror import Mirror
from lobby.model import Match
from lobby.outage import database_down

logger = logging.getLogger("disco.lobby")

# After Postgres fails to answer, the lobby goes straight to the mirror for this long before
# asking Postgres again: one slow failure per spell, not one per join or pairing round.
DOWN_FOR = 3.0


class Profiles:
    def __init__(self, db: Database, mirror: Mirror, retry_after: int) -> None:
        self.db, self.mirror, self.retry_after = db, mirror, retry_after
        self.audience = db
        self._names: Batcher[str, str] = Batcher(self._load)
        self._down_until = 0.0

    # -- Postgres's state ---------------------------------------------------------------------
    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _down(self, error: Exception) -> None:
        """Postgres did not answer: re-raise anything else; else use the mirror a while."""
        if not database_down(error):
            raise error
        if self._up():
            logger.warning("postgres is away; the lobby uses what it keeps in redis")
        self._down_until = time.monotonic() + DOWN_FOR

    # -- names and blocks ----------------------------------------------------------------------
    async def name(self, user: str) -> str:
        """The account's display name ('' for no account); Unavailable while Postgres is away
        and the mirror does not know the person."""
        if self._up():
            try:
                return await self._names.get(user) or ""
            except Exception as e:
                self._down(e)
        known = (await self.mirror.names([user])).get(user)
        if known is None:
            raise Unavailable(retry_after=self.retry_after)
        return known

    async def _load(self, users: Collection[str]) -> dict[str, str]:
        """Read names and blocks from Postgres and mirror them. The blocks are read again
        after the mirror is written: a block the API committed and mirrored between the first
        read and that write would otherwise be lost from the mirror."""
        names = await self.db.display_names(users)
        first = await self.db.blocks_of(names)
        await self.mirror.remember(names, first)
        second = await self.db.blocks_of(names)
        await self.mirror.add_blocks({u: b - first.get(u, set()) for u, b in second.items()})
        return names

    async def blocked_pairs(self, users: Collection[str]) -> tuple[set[frozenset[str]], set[str]]:
        """(pairs among `users` who blocked each other, users not to pair now: the mirror knows
        nothing of them while Postgres is away)."""
        if self._up():
            try:
                return await self.db.blocked_pairs(users), set()
            except Exception as e:
                self._down(e)
        return await self.mirror.blocked_pairs(users)

    # -- discussion rows -------------------------------------------------------------------------
    async def public(self, match: Match, fmt: Format) -> bool:
        """Whether the match's room opens to an audience: a debate both debaters let be
        watched. Consent comes first: when Postgres cannot vouch for it, the debate is private."""
        if not fmt.is_debate or not self._up():
            return False
        try:
            return await self.audience.all_allow(match.users)
        except Exception as e:
            self._down(e)
        return False

    async def start_discussion(self, match: Match, public: bool = False) -> None:
        """Write the discussion's row (public or not), or keep it in the outbox while Postgres
        is away (a kept row is private)."""
        if self._up():
            try:
                await self.db.start_discussion(match)
                if public:
                    await self.audience.make_public(discussion_id(match.id))
                return
            except Exception as e:
                self._down(e)
        await self.mirror.keep_discussion(match)
        logger.warning("discussion row kept for later", extra={"match": match.id})

    async def write_kept(self) -> None:
        """Write the discussion rows kept while Postgres was away (idempotent per match)."""
        if not self._up():
            return
        for raw in await self.mirror.kept_discussions():
            match = codec.match(raw)
            try:
                await self.db.start_discussion(match)
            except Exception as e:
                if database_down(e):
                    self._down(e)
                    return
                # Kept, and tried again next round; the others go on meanwhile.
                logger.exception("kept discussion row not written", extra={"match": match.id})
                continue
            await self.mirror.discussion_written(raw)
            logger.info("kept discussion row written", extra={"match": match.id})
