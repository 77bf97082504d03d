"""What people say about each other: ratings, reports and blocks. Blocks also shape pairing:
the lobby agent reads them (`blocks_of`, `blocked_pairs`) to keep blocked people apart."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lobby.db.base import Gateway, as_uuid, as_uuids
from lobby.db.errors import (
    AlreadyRated,
    AlreadyReported,
    NoSuchDiscussion,
    NoSuchUser,
    NotAParticipant,
    NotYourPartner,
)
from lobby.db.schema import blocks, discussion_participants, ratings, reports, users


async def _partner(conn: AsyncConnection, discussion_id: uuid.UUID, me: uuid.UUID) -> uuid.UUID:
    """The other participant of a discussion `me` took part in."""
    found = await conn.execute(
        sa.select(discussion_participants.c.user_id).where(
            discussion_participants.c.discussion_id == discussion_id
        )
    )
    people = {row[0] for row in found}
    if not people:
        raise NoSuchDiscussion()
    others = people - {me}
    if me not in people or not others:
        raise NotAParticipant()
    partner: uuid.UUID = min(others)
    return partner


def _name_of(user_id: uuid.UUID) -> Any:
    return sa.select(users.c.display_name).where(users.c.id == user_id).scalar_subquery()


class Feedback(Gateway):
    async def rate(
        self, discussion_id: uuid.UUID, rater: uuid.UUID, score: int, talk_again: bool
    ) -> uuid.UUID:
        """Record the rater's rating of their partner; returns the partner's id."""
        try:
            async with self.engine.begin() as conn:
                ratee = await _partner(conn, discussion_id, rater)
                await conn.execute(
                    ratings.insert().values(
                        discussion_id=discussion_id,
                        rater_id=rater,
                        ratee_id=ratee,
                        score=score,
                        talk_again=talk_again,
                    )
                )
        except IntegrityError:
            raise AlreadyRated() from None
        return ratee

    async def report(
        self,
        discussion_id: uuid.UUID,
        reporter: uuid.UUID,
        reported: uuid.UUID | None,
        reason: str,
        note: str,
        evidence: Mapping[str, Any] | None = None,
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """Record a report on the reporter's partner, with its evidence (the `reports` columns
        chat, room_chat, weight); returns (report id, reported id). Both names are kept with
        it, as the report outlives the accounts."""
        report_id = uuid.uuid4()
        try:
            async with self.engine.begin() as conn:
                partner = await _partner(conn, discussion_id, reporter)
                if reported is not None and reported != partner:
                    raise NotYourPartner()
                await conn.execute(
                    reports.insert().values(
                        id=report_id,
                        discussion_id=discussion_id,
                        reporter_id=reporter,
                        reported_id=partner,
                        reason=reason,
                        note=note,
                        reporter_name=_name_of(reporter),
                        reported_name=_name_of(partner),
                        **(evidence or {}),
                    )
                )
        except IntegrityError:
            raise AlreadyReported() from None
        return report_id, partner

    async def block(self, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
        """Block a user; True when the block is new. NoSuchUser for an unknown user."""
        query = (
            insert(blocks)
            .values(blocker_id=blocker, blocked_id=blocked)
            .on_conflict_do_nothing()
            .returning(blocks.c.blocker_id)
        )
        try:
            async with self.engine.begin() as conn:
                return (await conn.execute(query)).first() is not None
        except IntegrityError:
            raise NoSuchUser() from None

    async def unblock(self, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
        query = blocks.delete().where(
            blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def blocked_pairs(self, users: Collection[str]) -> set[frozenset[str]]:
        """Unordered pairs among `users` where either blocked the other."""
        ids = as_uuids(users)
        if len(ids) < 2:
            return set()
        query = sa.select(blocks.c.blocker_id, blocks.c.blocked_id).where(
            blocks.c.blocker_id.in_(ids), blocks.c.blocked_id.in_(ids)
        )
        async with self.reads.connect() as conn:
            rows = await conn.execute(query)
            return {frozenset((str(r.blocker_id), str(r.blocked_id))) for r in rows}

    async def blocks_of(self, users: Collection[str]) -> dict[str, set[str]]:
        """For each of these users (by id as given), everyone they blocked or who blocked
        them; users with no block are left out."""
        wanted = {parsed: u for u in users if (parsed := as_uuid(u)) is not None}
        if not wanted:
            return {}
        ids = list(wanted)
        query = sa.select(blocks.c.blocker_id, blocks.c.blocked_id).where(
            sa.or_(blocks.c.blocker_id.in_(ids), blocks.c.blocked_id.in_(ids))
        )
        out: dict[str, set[str]] = {}
        async with self.reads.connect() as conn:
            for r in await conn.execute(query):
                for me, other in ((r.blocker_id, r.blocked_id), (r.blocked_id, r.blocker_id)):
                    if me in wanted:
                        out.setdefault(wanted[me], set()).add(str(other))
        return out
