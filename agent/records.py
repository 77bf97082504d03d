"""The moderator's Postgres adapter: who is a moderator, and how a discussion ended.

SQLAlchemy rows stay here; callers pass and get plain values.
"""

from __future__ import annotations

import logging
import uuid
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lobby.contract import MODERATOR_PREFIX
from lobby.schema import discussion_participants, discussions, users
from lobby.settings import Settings

logger = logging.getLogger("disco.moderator.records")


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class Records:
    def __init__(self, settings: Settings) -> None:
        # One moderator per room, each with its own small pool: a discussion writes a handful
        # of rows in its life.
        self._engine: AsyncEngine = create_async_engine(
            settings.async_database_url, pool_size=1, max_overflow=2, pool_pre_ping=True
        )

    async def aclose(self) -> None:
        await self._engine.dispose()

    async def __aenter__(self) -> Records:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def warm(self) -> None:
        """Connect now, so the first real query (often the outcome, at the end) is quick."""
        async with self._engine.connect() as conn:
            await conn.execute(sa.select(1))

    async def is_moderator(self, identity: str) -> bool:
        """True when `identity` is `mod-<user id>` of an account with the moderator role."""
        if not identity.startswith(MODERATOR_PREFIX):
            return False
        user_id = _uuid(identity.removeprefix(MODERATOR_PREFIX))
        if user_id is None:
            return False
        async with self._engine.connect() as conn:
            role = await conn.scalar(sa.select(users.c.role).where(users.c.id == user_id))
        return role == "moderator"

    async def set_format(self, discussion_id: str, format_id: str, sides: dict[str, str]) -> None:
        """A casual talk became a debate: its format, and the sides the coin gave."""
        did = _uuid(discussion_id)
        if did is None:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(discussions).where(discussions.c.id == did).values(format=format_id)
            )
            for identity, side in sides.items():
                uid = _uuid(identity)
                if uid is None:
                    continue
                await conn.execute(
                    sa.update(discussion_participants)
                    .where(discussion_participants.c.discussion_id == did)
                    .where(discussion_participants.c.user_id == uid)
                    .values(side=side)
                )

    async def finish(self, discussion_id: str, outcome: str, winner: str | None) -> bool:
        """Record the end once; a second end (or one the API already wrote) changes nothing."""
        did = _uuid(discussion_id)
        if did is None:
            logger.warning("discussion id is not a UUID", extra={"discussion": discussion_id})
            return False
        async with self._engine.begin() as conn:
            done = await conn.execute(
                sa.update(discussions)
                .where(discussions.c.id == did)
                .where(discussions.c.outcome.is_(None))
                .values(
                    outcome=outcome,
                    ended_at=sa.func.now(),
                    winner_id=None if winner is None else _uuid(winner),
                )
            )
        return done.rowcount == 1
