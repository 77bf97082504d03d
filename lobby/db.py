"""The lobby agent's Postgres queries (SQLAlchemy Core on lobby.schema). Rows never leave this
module: callers get frozen dataclasses, sets and ids."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lobby.model import Match
from lobby.schema import blocks, discussion_participants, discussions, topics, users

# Discussion ids derive from match ids, so a start retried after a crash finds its own row.
_DISCUSSIONS = uuid.UUID("6c0b6c1e-4a9f-4c41-9d5e-1f2a3b4c5d6e")


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    title: str
    motion: str


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
    def connect(cls, url: str, timeout: float = 3.0) -> LobbyDb:
        """An engine whose every wait is bounded by `timeout` seconds: connecting, a free pooled
        connection, any one statement. A Postgres that stops answering fails calls fast."""
        engine = create_async_engine(
            url,
            pool_size=5,
            max_overflow=5,
            pool_pre_ping=True,
            pool_timeout=timeout,
            connect_args={"timeout": timeout, "command_timeout": timeout},
        )
        return cls(engine)

    async def aclose(self) -> None:
        await self.engine.dispose()

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
