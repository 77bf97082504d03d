"""Discussions: the topics people queue for, a discussion's start (the lobby agent), its
format and end (the moderator), the history and live list (the API), and the end LiveKit
reports through webhooks, recorded once per event."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lobby.db.base import Gateway, as_uuid, discussion_id
from lobby.db.records import (
    Discussion,
    HistoryCursor,
    HistoryEntry,
    LiveDiscussion,
    Participant,
    Topic,
)
from lobby.db.schema import (
    discussion_participants,
    discussions,
    ratings,
    topics,
    users,
    votes,
    webhook_events,
)
from lobby.model import Match

logger = logging.getLogger("disco.db")


class Discussions(Gateway):
    async def topics(self) -> list[Topic]:
        query = sa.select(topics.c.slug, topics.c.title, topics.c.description, topics.c.motion)
        rows = await self.all_rows(query.order_by(topics.c.title))
        return [Topic(slug=r[0], title=r[1], description=r[2], motion=r[3]) for r in rows]

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

    async def set_format(self, discussion_id: str, format_id: str, sides: dict[str, str]) -> None:
        """A casual talk became a debate: its format, and the sides the coin gave."""
        did = as_uuid(discussion_id)
        if did is None:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(discussions).where(discussions.c.id == did).values(format=format_id)
            )
            for identity, side in sides.items():
                uid = as_uuid(identity)
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
        did = as_uuid(discussion_id)
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
                    winner_id=None if winner is None else as_uuid(winner),
                )
            )
        return done.rowcount == 1

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
        rows = await self.all_rows(query)
        return [HistoryEntry(*tuple(row)) for row in rows]

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
        async with self.reads.connect() as conn:
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
        row = await self.first_row(query)
        return None if row is None else Discussion(*row)

    async def finish_room(self, event_id: str, event: str, room: str, at: dt.datetime) -> bool:
        """Record a room's end once per webhook event id (LiveKit may deliver an event twice):
        the event id and the discussion's end share one transaction. The caller releases the
        room's live state in Redis first, outside any transaction (it is idempotent), so no
        transaction stays open while Redis is slow. Returns True when a discussion was ended
        by this call."""
        record = (
            insert(webhook_events)
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
        return await self.first_row(query) is not None

    async def end_discussion(self, room: str, at: dt.datetime, outcome: str) -> bool:
        """End the room's discussion if it is still live; an outcome the moderator already
        wrote is kept. True when this call ended it."""
        async with self.engine.begin() as conn:
            return await _end(conn, room, at, outcome)

    async def live_rooms(self, started_before: dt.datetime) -> list[str]:
        """The rooms of discussions not ended yet that started before `started_before`."""
        d = discussions
        query = sa.select(d.c.room).where(d.c.ended_at.is_(None), d.c.started_at < started_before)
        async with self.reads.connect() as conn:
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
