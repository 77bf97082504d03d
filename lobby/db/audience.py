"""The audience's Postgres queries, a mixin of lobby.db.Database, for the API and the agents:
who lets their debates be watched, which debates are public, the spectators LiveKit's webhooks
saw join, when voting opens, and the votes. Rows never leave this module: callers get frozen
dataclasses and plain values.

A debate is public when the lobby agent found, as it opened the room, that both debaters allow
an audience; it is listed and watchable only while both still do (either may withdraw). Casual
talks are never public.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lobby.contract import side_or_none
from lobby.db.base import Gateway, as_uuid
from lobby.db.schema import (
    blocks,
    discussion_participants,
    discussions,
    spectators,
    topics,
    users,
    votes,
    webhook_events,
)
from lobby.formats import Side

# The audience votes from the start of the last phase until this long after the end (seconds).
VOTING_AFTER_END = 120

Refusal = Literal[
    "no_discussion", "debater", "not_spectator", "too_new", "not_open", "closed", "already"
]


@dataclass(frozen=True, slots=True)
class PublicDebate:
    id: uuid.UUID
    room: str
    topic: str
    topic_title: str
    motion: str
    format: str


@dataclass(frozen=True, slots=True)
class WatchCheck:
    """Whether a viewer may watch a debate: `debate` is None unless it is public and both
    debaters still allow an audience."""

    debate: PublicDebate | None
    ended: bool
    debater: bool
    blocked: bool

    @property
    def open_to_viewer(self) -> bool:
        """Public, both debaters allow it, and the viewer neither debates in it nor was blocked
        by a debater (ended or not: a spectator may stay to the end of the wrap-up)."""
        return self.debate is not None and not (self.debater or self.blocked)


@dataclass(frozen=True, slots=True)
class Tally:
    pro: int
    con: int
    my_vote: Side | None
    voting_open: bool

    @property
    def winner(self) -> str | None:
        """The audience's winner: 'pro', 'con', 'tie', or None before anyone voted."""
        if self.pro == self.con:
            return "tie" if self.pro else None
        return "pro" if self.pro > self.con else "con"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "winner": self.winner}


def _both_allow(d: Any) -> Any:
    """No debater of discussion `d` withholds consent (and it has debaters)."""
    p = discussion_participants
    refusing = (
        sa.select(p.c.user_id)
        .join(users, users.c.id == p.c.user_id)
        .where(p.c.discussion_id == d.c.id, users.c.allow_audience.is_(False))
    )
    return sa.and_(d.c.public.is_(True), ~sa.exists(refusing))


def _debate_columns() -> tuple[Any, ...]:
    d = discussions
    return (d.c.id, d.c.room, d.c.topic_slug, topics.c.title, topics.c.motion, d.c.format)


def _window_open() -> Any:
    d = discussions
    after = sa.text(f"interval '{VOTING_AFTER_END} seconds'")
    return sa.and_(
        d.c.voting_opens_at.is_not(None),
        d.c.voting_opens_at <= sa.func.now(),
        sa.or_(d.c.ended_at.is_(None), sa.func.now() <= d.c.ended_at + after),
    )


class Audience(Gateway):
    # -- consent, and the lobby agent opening a room ---------------------------------------
    async def all_allow(self, user_ids: Collection[str]) -> bool:
        """True when every one of these accounts allows an audience."""
        ids = {i for u in user_ids if (i := as_uuid(u)) is not None}
        if not ids or len(ids) != len(user_ids):
            return False
        query = sa.select(sa.func.count()).where(
            users.c.id.in_(ids), users.c.allow_audience.is_(True)
        )
        async with self.engine.connect() as conn:
            return (await conn.scalar(query)) == len(ids)

    async def make_public(self, discussion_id: uuid.UUID) -> None:
        query = discussions.update().where(discussions.c.id == discussion_id).values(public=True)
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def open_voting(self, discussion_id: str) -> None:
        """The last phase began: the audience may vote from now (a second call keeps the
        first time, e.g. from a moderator that took over)."""
        did = as_uuid(discussion_id)
        if did is None:
            return
        d = discussions
        query = (
            d.update()
            .where(d.c.id == did, d.c.voting_opens_at.is_(None))
            .values(voting_opens_at=sa.func.now())
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    # -- watching --------------------------------------------------------------------------
    async def live_public(self, viewer: uuid.UUID) -> list[PublicDebate]:
        """Public debates in progress the viewer may watch (not their own, nor one whose
        debater blocked them), oldest first."""
        d, p = discussions, discussion_participants
        theirs = sa.select(p.c.discussion_id).where(
            sa.or_(
                p.c.user_id == viewer,
                p.c.user_id.in_(
                    sa.select(blocks.c.blocker_id).where(blocks.c.blocked_id == viewer)
                ),
            )
        )
        query = (
            sa.select(*_debate_columns())
            .join(topics, topics.c.slug == d.c.topic_slug)
            .where(d.c.ended_at.is_(None), _both_allow(d), d.c.id.not_in(theirs))
            .order_by(d.c.started_at, d.c.id)
        )
        async with self.engine.connect() as conn:
            return [PublicDebate(*row) for row in await conn.execute(query)]

    async def watch_check(self, discussion_id: uuid.UUID, viewer: uuid.UUID) -> WatchCheck:
        return await self._watch_check(discussions.c.id == discussion_id, viewer)

    async def watch_check_in(self, room: str, viewer: uuid.UUID) -> WatchCheck:
        """The same check for the discussion held in a LiveKit room (a spectator arriving)."""
        return await self._watch_check(discussions.c.room == room, viewer)

    async def _watch_check(self, which: Any, viewer: uuid.UUID) -> WatchCheck:
        d, p = discussions, discussion_participants
        query = (
            sa.select(*_debate_columns(), d.c.ended_at, _both_allow(d))
            .join(topics, topics.c.slug == d.c.topic_slug)
            .where(which)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return WatchCheck(None, False, False, False)
            people = sa.select(p.c.user_id).where(p.c.discussion_id == row[0])
            debaters = {r[0] for r in await conn.execute(people)}
            blockers = await conn.execute(
                sa.select(blocks.c.blocker_id).where(
                    blocks.c.blocked_id == viewer, blocks.c.blocker_id.in_(debaters)
                )
            )
            blocked = blockers.first() is not None
        debate = PublicDebate(*row[:6]) if row[7] else None
        return WatchCheck(debate, row[6] is not None, viewer in debaters, blocked)

    async def live_rooms_of(self, user: uuid.UUID) -> list[str]:
        """The rooms of the user's discussions in progress (at most one, unless a room was
        not closed yet)."""
        d, p = discussions, discussion_participants
        query = (
            sa.select(d.c.room)
            .join(p, p.c.discussion_id == d.c.id)
            .where(p.c.user_id == user, d.c.ended_at.is_(None))
            .order_by(d.c.room)
        )
        async with self.engine.connect() as conn:
            return [row[0] for row in await conn.execute(query)]

    # -- LiveKit's webhooks -----------------------------------------------------------------
    async def spectator_joined(self, event_id: str, event: str, room: str, user: str) -> bool:
        """Record that the account watched the room's discussion, once per webhook event id
        (the id and the row share one transaction). False for an event seen before."""
        uid = as_uuid(user)
        async with self.engine.begin() as conn:
            if not await _first_time(conn, event_id, event):
                return False
            did = await conn.scalar(sa.select(discussions.c.id).where(discussions.c.room == room))
            if did is not None and uid is not None:
                await conn.execute(
                    insert(spectators)
                    .values(discussion_id=did, user_id=uid)
                    .on_conflict_do_nothing()
                )
        return True

    async def event_once(self, event_id: str, event: str) -> bool:
        """Record a webhook event id; False when it was recorded before."""
        async with self.engine.begin() as conn:
            return await _first_time(conn, event_id, event)

    # -- voting ----------------------------------------------------------------------------
    async def vote(self, discussion_id: uuid.UUID, voter: uuid.UUID, side: Side) -> Refusal | None:
        """Record the vote; None when it counted, else why it was refused (nothing changes)."""
        async with self.engine.begin() as conn:
            refusal = await _refusal(conn, discussion_id, voter)
            if refusal is not None:
                return refusal
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        votes.insert().values(
                            discussion_id=discussion_id, voter_id=voter, side=side
                        )
                    )
            except IntegrityError:
                return "already"
        return None

    async def tally(self, discussion_id: uuid.UUID, viewer: uuid.UUID) -> Tally | Refusal:
        """The votes so far, for a debater or a spectator of the discussion."""
        d, p, s = discussions, discussion_participants, spectators
        who = sa.select(
            sa.exists().where(p.c.discussion_id == discussion_id, p.c.user_id == viewer),
            sa.exists().where(s.c.discussion_id == discussion_id, s.c.user_id == viewer),
            sa.select(_window_open()).where(d.c.id == discussion_id).scalar_subquery(),
        )
        counts = (
            sa.select(votes.c.side, sa.func.count(), sa.func.bool_or(votes.c.voter_id == viewer))
            .where(votes.c.discussion_id == discussion_id)
            .group_by(votes.c.side)
        )
        async with self.engine.connect() as conn:
            debater, spectator, window = (await conn.execute(who)).one()
            if window is None:
                return "no_discussion"
            if not (debater or spectator):
                return "not_spectator"
            found = {r[0]: (int(r[1]), bool(r[2])) for r in await conn.execute(counts)}
        mine = side_or_none(next((side for side, (_, me) in found.items() if me), None))
        pro, con = found.get("pro", (0, False))[0], found.get("con", (0, False))[0]
        return Tally(pro, con, mine, bool(window))


async def _first_time(conn: AsyncConnection, event_id: str, event: str) -> bool:
    record = (
        insert(webhook_events)
        .values(id=event_id, event=event)
        .on_conflict_do_nothing()
        .returning(webhook_events.c.id)
    )
    return (await conn.execute(record)).first() is not None


async def _refusal(
    conn: AsyncConnection, discussion_id: uuid.UUID, voter: uuid.UUID
) -> Refusal | None:
    """Why this account may not vote on this discussion now, or None."""
    d, p, s = discussions, discussion_participants, spectators
    query = sa.select(
        d.c.voting_opens_at.is_not(None),
        _window_open(),
        sa.select(users.c.created_at).where(users.c.id == voter).scalar_subquery() > d.c.started_at,
        sa.exists().where(p.c.discussion_id == d.c.id, p.c.user_id == voter),
        sa.exists().where(s.c.discussion_id == d.c.id, s.c.user_id == voter),
    ).where(d.c.id == discussion_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return "no_discussion"
    opened, window, too_new, debater, spectator = row
    if debater:
        return "debater"
    if not spectator:
        return "not_spectator"
    if too_new:
        return "too_new"
    if not window:
        return "closed" if opened else "not_open"
    return None
