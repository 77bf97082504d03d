"""The engine every query mixin shares, and the id helpers they use."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Self, TypeVarTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.selectable import TypedReturnsRows

_Ts = TypeVarTuple("_Ts")

# Discussion ids derive from match ids, so a start retried after a crash finds its own row.
_DISCUSSIONS = uuid.UUID("6c0b6c1e-4a9f-4c41-9d5e-1f2a3b4c5d6e")


def discussion_id(match_id: str) -> uuid.UUID:
    return uuid.uuid5(_DISCUSSIONS, match_id)


def as_uuid(text: str) -> uuid.UUID | None:
    """Identities and ids arrive as text; anything not a UUID names no row."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def as_uuids(texts: Collection[str]) -> list[uuid.UUID]:
    return [i for t in texts if (i := as_uuid(t)) is not None]


class Gateway:
    """One engine per process. Writes run in a transaction (`engine.begin()`); single reads
    use `reads`, which skips BEGIN/ROLLBACK: two round trips saved on every one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    @classmethod
    def connect(
        cls,
        url: str,
        timeout: float = 3.0,
        pool_size: int = 5,
        *,
        pre_ping: bool = True,
        recycle: int = 1800,
    ) -> Self:
        """A gateway whose every wait is bounded by `timeout` seconds: connecting, a free
        pooled connection, any one statement, so a Postgres that stops answering fails calls
        fast. `pre_ping` costs a round trip per checkout; without it a dead connection fails
        one call and is dropped from the pool, which suits a busy API."""
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=pre_ping,
            pool_recycle=recycle,
            pool_timeout=timeout,
            connect_args={"timeout": timeout, "command_timeout": timeout},
        )
        return cls(engine)

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def all_rows(self, query: TypedReturnsRows[*_Ts]) -> Sequence[sa.Row[*_Ts]]:
        """Every row of one read."""
        async with self.reads.connect() as conn:
            return (await conn.execute(query)).all()

    async def first_row(self, query: TypedReturnsRows[*_Ts]) -> sa.Row[*_Ts] | None:
        """The first row of one read, None when it found none."""
        async with self.reads.connect() as conn:
            return (await conn.execute(query)).first()

    async def ping(self) -> None:
        """Connect and answer one query; also warms the pool before the first real query."""
        async with self.reads.connect() as conn:
            await conn.execute(sa.select(1))
