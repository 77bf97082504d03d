"""The agents' Postgres gateway (SQLAlchemy Core on lobby.schema): the lobby agent's queries
(topics, names, blocks, starting a discussion) and the moderator's (how a discussion ended;
who is a moderator is lobby/db_safety.py's). Rows never leave this module: callers get frozen
dataclasses, sets and ids. The API has its own gateway on the same schema (api/db.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lobby.model import Match
from lobby.schema import blocks, discussion_participants, discussions, topics, users

logger = logging.getLogger("disco.db")

# Discussion ids derive from match ids, so a start retried after a crash finds its own row.
_DISCUSSIONS = uuid.UUID("6c0b6c1e-4a9f-4c41-9d5e-1f2a3b4c5d6e")


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic people can queue for; the API lists them (`GET /api/topics`), the lobby agent
    checks joins against them and gives the moderator the title and motion."""

    slug: str
    title: str
    motion: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "motion": self.motion,
        }


def discussion_id(match_id: str) -> uuid.UUID:
    return uuid.uuid5(_DISCUSSIONS, match_id)


def _uuid(user: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(user)
    except ValueError:
        return None


def _uuids(users: Collection[str]) -> list[uuid.UUID]:
    return [i for u in users if (i := _uuid(u)) is not None]


class LobbyDb:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str, timeout: float = 3.0, pool_size: int = 5) -> LobbyDb:
        """An engine whose every wait is bounded by `timeout` seconds: connecting, a free pooled
        connection, any one statement. A Postgres that stops answering fails calls fast."""
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_timeout=timeout,
            connect_args={"timeout": timeout, "command_timeout": timeout},
        )
        return cls(engine)

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def warm(self) -> None:
        """Connect now, so the first real query (often the outcome, at the end) is quick."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.select(1))

    async def topics(self) -> dict[str, Topic]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(topics.c.slug, topics.c.title, topics.c.motion))
            return {r.slug: Topic(r.slug, r.title, r.motion) for r in rows}

    async def display_names(self, user_ids: Collection[str]) -> dict[str, str]:
        """The display names of these accounts, keyed by the ids as given; ids of no account
        (or no id at all) are left out."""
        wanted = {u: parsed for u in user_ids if (parsed := _uuid(u)) is not None}
        if not wanted:
            return {}
        query = sa.select(users.c.id, users.c.display_name).where(
            users.c.id.in_(set(wanted.values()))
        )
        async with self.engine.connect() as conn:
            names = {r.id: str(r.display_name) for r in await conn.execute(query)}
        return {u: names[i] for u, i in wanted.items() if i in names}

    async def blocked_pairs(self, users: Collection[str]) -> set[frozenset[str]]:
        """Unordered pairs among `users` where either blocked the other."""
        ids = _uuids(users)
        if len(ids) < 2:
            return set()
        query = sa.select(blocks.c.blocker_id, blocks.c.blocked_id).where(
            blocks.c.blocker_id.in_(ids), blocks.c.blocked_id.in_(ids)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return {frozenset((str(r.blocker_id), str(r.blocked_id))) for r in rows}

    async def blocks_of(self, users: Collection[str]) -> dict[str, set[str]]:
        """For each of these users (by id as given), everyone they blocked or who blocked
        them; users with no block are left out."""
        wanted = {parsed: u for u in users if (parsed := _uuid(u)) is not None}
        if not wanted:
            return {}
        ids = list(wanted)
        query = sa.select(blocks.c.blocker_id, blocks.c.blocked_id).where(
            sa.or_(blocks.c.blocker_id.in_(ids), blocks.c.blocked_id.in_(ids))
        )
        out: dict[str, set[str]] = {}
        async with self.engine.connect() as conn:
            for r in await conn.execute(query):
                for me, other in ((r.blocker_id, r.blocked_id), (r.blocked_id, r.blocker_id)):
                    if me in wanted:
                        out.setdefault(wanted[me], set()).add(str(other))
        return out

    async def start_discussion(self, match: Match) -> uuid.UUID:
        """Record the discussion and its two participants; idempotent per match."""
        did = discussion_id(match.id)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(discussions)
                .values(
                    id=did,
                    match_id=match.id,
                    room=match.room,
                    topic_slug=match.topic,
                    format=match.format,
                )
                .on_conflict_do_nothing(index_elements=[discussions.c.match_id])
            )
            await conn.execute(
                insert(discussion_participants)
                .values(
                    [
                        {"discussion_id": did, "user_id": uuid.UUID(s.user), "side": s.side}
                        for s in match.seats
                    ]
                )
                .on_conflict_do_nothing()
            )
        return did

    # -- the moderator's -------------------------------------------------------------------
    async def set_format(self, discussion_id: str, format_id: str, sides: dict[str, str]) -> None:
        """A casual talk became a debate: its format, and the sides the coin gave."""
        did = _uuid(discussion_id)
        if did is None:
            return
        async with self.engine.begin() as conn:
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

    async def finish_discussion(self, discussion_id: str, outcome: str, winner: str | None) -> bool:
        """Record the end once; a second end (or one the API already wrote) changes nothing."""
        did = _uuid(discussion_id)
        if did is None:
            logger.warning("discussion id is not a UUID", extra={"discussion": discussion_id})
            return False
        async with self.engine.begin() as conn:
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
