"""Every SQLAlchemy query the API makes. Rows never leave this module: callers get frozen
dataclasses (api.records) or an api.errors exception."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.errors import (
    AlreadyRated,
    AlreadyReported,
    EmailTaken,
    InvalidField,
    NotAParticipant,
    NotFound,
)
from api.records import (
    Credentials,
    Discussion,
    HistoryCursor,
    HistoryEntry,
    LiveDiscussion,
    Participant,
    Topic,
    User,
)
from lobby.schema import (
    blocks,
    discussion_participants,
    discussions,
    ratings,
    reports,
    topics,
    users,
    votes,
    webhook_events,
)

_USER_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.display_name,
    users.c.bio,
    users.c.role,
    users.c.allow_audience,
)


def _user(row: Sequence[Any]) -> User:
    return User(
        id=row[0],
        email=row[1],
        display_name=row[2],
        bio=row[3],
        role=row[4],
        allow_audience=row[5],
    )


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Single reads skip BEGIN/ROLLBACK: two round trips saved on every authenticated request.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def ping(self) -> None:
        async with self._reads.connect() as conn:
            await conn.execute(sa.text("select 1"))

    # -- accounts --------------------------------------------------------------------------
    async def create_user(self, email: str, password_hash: str, display_name: str) -> User:
        values = {
            "id": uuid.uuid4(),
            "email": email,
            "password_hash": password_hash,
            "display_name": display_name,
        }
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(users.insert().values(values).returning(*_USER_COLUMNS))
                ).one()
        except IntegrityError:
            raise EmailTaken() from None
        return _user(row)

    async def credentials(self, email: str) -> Credentials | None:
        query = sa.select(*_USER_COLUMNS, users.c.password_hash).where(users.c.email == email)
        async with self._reads.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Credentials(user=_user(row), password_hash=row.password_hash)

    async def user(self, user_id: uuid.UUID) -> User | None:
        async with self._reads.connect() as conn:
            row = (
                await conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id))
            ).first()
        return None if row is None else _user(row)

    async def update_profile(
        self,
        user_id: uuid.UUID,
        display_name: str | None,
        bio: str | None,
        allow_audience: bool | None = None,
    ) -> User | None:
        changes = {"display_name": display_name, "bio": bio, "allow_audience": allow_audience}
        values = {k: v for k, v in changes.items() if v is not None}
        if not values:
            return await self.user(user_id)
        query = users.update().where(users.c.id == user_id).values(values)
        async with self.engine.begin() as conn:
            row = (await conn.execute(query.returning(*_USER_COLUMNS))).first()
        return None if row is None else _user(row)

    async def topics(self) -> list[Topic]:
        query = sa.select(topics.c.slug, topics.c.title, topics.c.description, topics.c.motion)
        async with self._reads.connect() as conn:
            rows = (await conn.execute(query.order_by(topics.c.title))).all()
        return [Topic(slug=r[0], title=r[1], description=r[2], motion=r[3]) for r in rows]

    # -- after a discussion ----------------------------------------------------------------
    async def _partner(
        self, conn: AsyncConnection, discussion_id: uuid.UUID, me: uuid.UUID
    ) -> uuid.UUID:
        """The other participant of a discussion `me` took part in."""
        found = await conn.execute(
            sa.select(discussion_participants.c.user_id).where(
                discussion_participants.c.discussion_id == discussion_id
            )
        )
        people = {row[0] for row in found}
        if not people:
            raise NotFound("There is no such discussion.")
        others = people - {me}
        if me not in people or not others:
            raise NotAParticipant()
        partner: uuid.UUID = min(others)
        return partner

    async def rate(
        self, discussion_id: uuid.UUID, rater: uuid.UUID, score: int, talk_again: bool
    ) -> uuid.UUID:
        """Record the rater's rating of their partner; returns the partner's id."""
        try:
            async with self.engine.begin() as conn:
                ratee = await self._partner(conn, discussion_id, rater)
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
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """Record a report on the reporter's partner; returns (report id, reported id)."""
        report_id = uuid.uuid4()
        try:
            async with self.engine.begin() as conn:
                partner = await self._partner(conn, discussion_id, reporter)
                if reported is not None and reported != partner:
                    raise InvalidField("user_id", "is not your partner in this discussion")
                await conn.execute(
                    reports.insert().values(
                        id=report_id,
                        discussion_id=discussion_id,
                        reporter_id=reporter,
                        reported_id=partner,
                        reason=reason,
                        note=note,
                    )
                )
        except IntegrityError:
            raise AlreadyReported() from None
        return report_id, partner

    async def block(self, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
        """Block a user; True when the block is new. NotFound for an unknown user."""
        query = (
            pg_insert(blocks)
            .values(blocker_id=blocker, blocked_id=blocked)
            .on_conflict_do_nothing()
            .returning(blocks.c.blocker_id)
        )
        try:
            async with self.engine.begin() as conn:
                return (await conn.execute(query)).first() is not None
        except IntegrityError:
            raise NotFound("There is no such user.") from None

    async def unblock(self, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
        query = blocks.delete().where(
            blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def history(
        self, user_id: uuid.UUID, limit: int, before: HistoryCursor | None = None
    ) -> list[HistoryEntry]:
        """The user's discussions, newest first (ties by id); only those after `before` in
        that order when it is given (keyset paging: stable while new discussions arrive)."""
        me = discussion_participants.alias("me")
        other = discussion_participants.alias("other")
        partner = users.alias("partner")
        d = discussions
        query = (
            sa.select(
                d.c.id,
                d.c.match_id,
                d.c.room,
                d.c.topic_slug,
                topics.c.title,
                d.c.format,
                me.c.side,
                other.c.user_id,
                partner.c.display_name,
                d.c.started_at,
                d.c.ended_at,
                d.c.outcome,
                ratings.c.score,
                ratings.c.talk_again,
                _votes_for(d, "pro"),
                _votes_for(d, "con"),
                d.c.public,
            )
            .select_from(d)
            .join(me, sa.and_(me.c.discussion_id == d.c.id, me.c.user_id == user_id))
            .join(topics, topics.c.slug == d.c.topic_slug)
            .outerjoin(other, sa.and_(other.c.discussion_id == d.c.id, other.c.user_id != user_id))
            .outerjoin(partner, partner.c.id == other.c.user_id)
            .outerjoin(
                ratings, sa.and_(ratings.c.discussion_id == d.c.id, ratings.c.rater_id == user_id)
            )
            .order_by(d.c.started_at.desc(), d.c.id)
            .limit(limit)
        )
        if before is not None:
            query = query.where(
                sa.or_(
                    d.c.started_at < before.started_at,
                    sa.and_(d.c.started_at == before.started_at, d.c.id > before.id),
                )
            )
        async with self._reads.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [HistoryEntry(*tuple(row)) for row in rows]

    # -- moderators ------------------------------------------------------------------------
    async def live_discussions(self) -> list[LiveDiscussion]:
        d, p = discussions, discussion_participants
        query = (
            sa.select(d.c.id, d.c.room, d.c.topic_slug, topics.c.title, d.c.format, d.c.started_at)
            .join(topics, topics.c.slug == d.c.topic_slug)
            .where(d.c.ended_at.is_(None))
            .order_by(d.c.started_at, d.c.id)
        )
        people = (
            sa.select(p.c.discussion_id, p.c.user_id, users.c.display_name, p.c.side)
            .join(users, users.c.id == p.c.user_id)
            .join(d, d.c.id == p.c.discussion_id)
            .where(d.c.ended_at.is_(None))
            .order_by(users.c.display_name)
        )
        async with self._reads.connect() as conn:
            found = (await conn.execute(query)).all()
            everyone = (await conn.execute(people)).all()
        by_discussion: dict[uuid.UUID, list[Participant]] = {}
        for row in everyone:
            by_discussion.setdefault(row[0], []).append(Participant(row[1], row[2], row[3]))
        return [
            LiveDiscussion(*row, participants=tuple(by_discussion.get(row[0], []))) for row in found
        ]

    async def discussion(self, discussion_id: uuid.UUID) -> Discussion | None:
        d = discussions
        query = sa.select(d.c.id, d.c.room, d.c.ended_at, d.c.outcome).where(
            d.c.id == discussion_id
        )
        async with self._reads.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else Discussion(*row)

    # -- LiveKit webhooks and reconciliation --------------------------------------------
    async def finish_room(self, event_id: str, event: str, room: str, at: dt.datetime) -> bool:
        """Record a room's end once per webhook event id (LiveKit may deliver an event twice):
        the event id and the discussion's end share one transaction. The caller releases the
        room's live state in Redis first, outside any transaction (it is idempotent), so no
        transaction stays open while Redis is slow. Returns True when a discussion was ended
        by this call."""
        record = (
            pg_insert(webhook_events)
            .values(id=event_id, event=event)
            .on_conflict_do_nothing()
            .returning(webhook_events.c.id)
        )
        async with self.engine.begin() as conn:
            if (await conn.execute(record)).first() is None:
                return False
            return await _end(conn, room, at, "abandoned")

    async def webhook_seen(self, event_id: str) -> bool:
        """Whether this webhook event id was applied already."""
        query = sa.select(webhook_events.c.id).where(webhook_events.c.id == event_id)
        async with self._reads.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def end_discussion(self, room: str, at: dt.datetime, outcome: str) -> bool:
        """End the room's discussion if it is still live; an outcome the moderator already
        wrote is kept. True when this call ended it."""
        async with self.engine.begin() as conn:
            return await _end(conn, room, at, outcome)

    async def live_rooms(self, started_before: dt.datetime) -> list[str]:
        """The rooms of discussions not ended yet that started before `started_before`."""
        d = discussions
        query = sa.select(d.c.room).where(d.c.ended_at.is_(None), d.c.started_at < started_before)
        async with self._reads.connect() as conn:
            return [row[0] for row in await conn.execute(query.order_by(d.c.started_at))]

    async def prune_webhook_events(self, received_before: dt.datetime) -> int:
        """Forget webhook event ids received before then; LiveKit retries an event for
        minutes, never days, so an old id can no longer come back."""
        query = webhook_events.delete().where(webhook_events.c.received_at < received_before)
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount


def _votes_for(d: Any, side: str) -> Any:
    """The audience's votes for one side of discussion `d`."""
    query = sa.select(sa.func.count()).where(votes.c.discussion_id == d.c.id, votes.c.side == side)
    return query.scalar_subquery()


async def _end(conn: AsyncConnection, room: str, at: dt.datetime, outcome: str) -> bool:
    end = (
        discussions.update()
        .where(discussions.c.room == room, discussions.c.ended_at.is_(None))
        .values(ended_at=at, outcome=sa.func.coalesce(discussions.c.outcome, outcome))
        .returning(discussions.c.id)
    )
    return (await conn.execute(end)).first() is not None
