"""The Postgres queries of trust and safety (SQLAlchemy Core on lobby.schema): consent, reports
and the automatic hold, the moderators' review queue and decisions, bans, roles, the audit log
and deleting an account. Rows never leave this module: callers get frozen dataclasses.

Every moderation action writes its audit row in the same transaction as its effect, so the log
never misses one nor records one that did not happen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lobby.schema import discussions, moderation_actions, ratings, reports, users

# A permanent ban is stored as a ban until the end of the calendar (one column, one query).
PERMANENT = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
Action = Literal["dismiss", "warn", "ban"]
ActorKind = Literal["moderator", "operator", "system"]
STATUS_OF: dict[Action, str] = {"dismiss": "dismissed", "warn": "warned", "ban": "banned"}
QUEUE_LIMIT = 100
AUDIT_LIMIT = 200


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def ban_json(until: dt.datetime | None) -> dict[str, Any] | None:
    """A ban as clients see it: its end, or `permanent`."""
    if until is None:
        return None
    permanent = until >= PERMANENT
    return {"until": None if permanent else until.isoformat(), "permanent": permanent}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did a moderation action: a moderator (their id), the operator, or the rules."""

    kind: ActorKind
    id: uuid.UUID | None = None


OPERATOR = Actor("operator")
SYSTEM = Actor("system")


@dataclass(frozen=True, slots=True)
class AccountState:
    id: uuid.UUID
    role: str
    created_at: dt.datetime
    terms_accepted_at: dt.datetime | None
    banned_until: dt.datetime | None
    held_since: dt.datetime | None

    def banned(self, now: dt.datetime) -> bool:
        return self.banned_until is not None and self.banned_until > now


@dataclass(frozen=True, slots=True)
class Decided:
    report_id: uuid.UUID
    reported_id: uuid.UUID | None
    status: str


class SafetyDb:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- accounts --------------------------------------------------------------------------
    async def account(self, user_id: uuid.UUID) -> AccountState | None:
        u = users.c
        query = sa.select(
            u.id, u.role, u.created_at, u.terms_accepted_at, u.banned_until, u.held_since
        ).where(u.id == user_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else AccountState(*row)

    async def user_by_email(self, email: str) -> uuid.UUID | None:
        async with self.engine.connect() as conn:
            found = await conn.scalar(sa.select(users.c.id).where(users.c.email == email))
        return None if found is None else uuid.UUID(str(found))

    async def is_moderator(self, user: str) -> bool:
        try:
            user_id = uuid.UUID(user)
        except ValueError:
            return False
        async with self.engine.connect() as conn:
            role = await conn.scalar(sa.select(users.c.role).where(users.c.id == user_id))
        return role == "moderator"

    async def accept_terms(self, user_id: uuid.UUID) -> None:
        query = users.update().where(users.c.id == user_id).values(terms_accepted_at=sa.func.now())
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def delete_account(self, user_id: uuid.UUID) -> bool:
        """The account and what hangs on it go (ratings, blocks, seats in discussions);
        reports by or about the person stay, with the names they were filed under."""
        async with self.engine.begin() as conn:
            gone = await conn.execute(users.delete().where(users.c.id == user_id))
        return gone.rowcount > 0

    async def set_role(self, user_id: uuid.UUID, role: str, actor: Actor) -> None:
        action = "grant_moderator" if role == "moderator" else "revoke_moderator"
        async with self.engine.begin() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(role=role))
            await _audit(conn, actor, action, user_id)

    # -- reports ---------------------------------------------------------------------------
    async def discussion_of_room(self, room: str) -> uuid.UUID | None:
        query = sa.select(discussions.c.id).where(discussions.c.room == room)
        async with self.engine.connect() as conn:
            found = await conn.scalar(query)
        return None if found is None else uuid.UUID(str(found))

    async def report_weight(self, reporter: uuid.UUID, young: float, low: float) -> float:
        """How much a report by this account counts: `low` while it is younger than `young`
        seconds (a fresh account costs an attacker nothing), else 1."""
        age = sa.func.extract("epoch", sa.func.now() - users.c.created_at)
        async with self.engine.connect() as conn:
            seconds = await conn.scalar(sa.select(age).where(users.c.id == reporter))
        return 1.0 if seconds is not None and float(seconds) >= young else low

    async def hold_if_due(
        self, reported: uuid.UUID, window: float, threshold: float, report_id: uuid.UUID
    ) -> bool:
        """Hold the account for review when the open reports about it within `window`
        seconds weigh `threshold` or more (each reporter counted once, at their heaviest), or
        an `underage` report weighs 1 or more. True when this call put the hold on."""
        r = reports.c
        since = sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, window)
        per_reporter = (
            sa.select(
                sa.func.max(r.weight).label("w"),
                sa.func.max(sa.case((r.reason == "underage", r.weight), else_=0)).label("u"),
            )
            .where(r.reported_id == reported, r.status == "open", r.created_at >= since)
            .group_by(r.reporter_id)
            .subquery()
        )
        total = sa.select(
            sa.func.coalesce(sa.func.sum(per_reporter.c.w), 0),
            sa.func.coalesce(sa.func.sum(per_reporter.c.u), 0),
        )
        async with self.engine.begin() as conn:
            weight, underage = (await conn.execute(total)).one()
            if float(weight) < threshold and float(underage) < 1:
                return False
            held = await conn.execute(
                users.update()
                .where(users.c.id == reported, users.c.held_since.is_(None))
                .values(held_since=sa.func.now())
            )
            if held.rowcount == 0:
                return False
            await _audit(conn, SYSTEM, "hold", reported, report_id=report_id)
        return True

    async def mine(self, reporter: uuid.UUID) -> list[dict[str, Any]]:
        """The reporter's own reports with what was decided (never the evidence or the other
        person's record)."""
        r = reports.c
        query = (
            sa.select(
                r.id,
                r.discussion_id,
                r.reported_name,
                r.reason,
                r.created_at,
                r.status,
                r.decided_at,
            )
            .where(r.reporter_id == reporter)
            .order_by(r.created_at.desc())
            .limit(QUEUE_LIMIT)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "id": str(row[0]),
                "discussion_id": str(row[1]),
                "user_name": row[2],
                "reason": row[3],
                "created_at": _iso(row[4]),
                "status": row[5],
                "decided_at": _iso(row[6]),
            }
            for row in rows
        ]

    # -- the review queue ------------------------------------------------------------------
    async def queue(
        self, limit: int = QUEUE_LIMIT, user: uuid.UUID | None = None
    ) -> list[dict[str, Any]]:
        """Reports for moderators: open ones first (oldest first), then decided ones (newest
        first), each with its evidence and both people's record; only those by or about
        `user` when given."""
        r = reports.c
        open_first = sa.case((r.status == "open", 0), else_=1)
        newest = sa.case(
            (r.status == "open", sa.func.extract("epoch", r.created_at)),
            else_=-sa.func.extract("epoch", r.created_at),
        )
        query = (
            sa.select(
                r.id,
                r.discussion_id,
                r.reporter_id,
                r.reporter_name,
                r.reported_id,
                r.reported_name,
                r.reason,
                r.note,
                r.chat,
                r.room_chat,
                r.weight,
                r.status,
                r.created_at,
                r.decided_at,
            )
            .order_by(open_first, newest)
            .limit(limit)
        )
        if user is not None:
            query = query.where(sa.or_(r.reporter_id == user, r.reported_id == user))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            people = {p for row in rows for p in (row[2], row[4]) if p is not None}
            records = await _records(conn, people)
        return [_report_json(row, records) for row in rows]

    async def decide(
        self,
        report_id: uuid.UUID,
        action: Action,
        actor: Actor,
        until: dt.datetime | None,
        note: str,
    ) -> Decided | None:
        """Close an open report with a decision (None when there is no such report). The
        reported person's hold ends; a ban is written here and applied by the caller."""
        r = reports.c
        status = STATUS_OF[action]
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    reports.update()
                    .where(r.id == report_id)
                    .values(status=status, decided_at=sa.func.now())
                    .returning(r.reported_id)
                )
            ).first()
            if row is None:
                return None
            reported = row[0]
            if reported is not None:
                await conn.execute(
                    users.update().where(users.c.id == reported).values(held_since=None)
                )
                if action == "ban":
                    await _set_ban(conn, reported, until or PERMANENT)
            await _audit(
                conn, actor, action, reported, report_id=report_id, until=until, reason=note
            )
        return Decided(report_id, reported, status)

    # -- bans ------------------------------------------------------------------------------
    async def ban(
        self, user_id: uuid.UUID, until: dt.datetime | None, actor: Actor, reason: str = ""
    ) -> None:
        """Ban until then (None: for good)."""
        async with self.engine.begin() as conn:
            await _set_ban(conn, user_id, until or PERMANENT)
            await _audit(conn, actor, "ban", user_id, until=until, reason=reason)

    async def unban(self, user_id: uuid.UUID, actor: Actor, reason: str = "") -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(banned_until=None)
            )
            await _audit(conn, actor, "unban", user_id, reason=reason)

    async def sanctioned(self) -> list[tuple[str, dt.datetime | None, bool]]:
        """(user, ban end or None, held) of every account banned now or held."""
        u = users.c
        query = sa.select(u.id, u.banned_until, u.held_since).where(
            sa.or_(u.banned_until > sa.func.now(), u.held_since.is_not(None))
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            (
                str(row[0]),
                row[1] if row[1] and row[1] > dt.datetime.now(dt.UTC) else None,
                row[2] is not None,
            )
            for row in rows
        ]

    # -- the audit log ---------------------------------------------------------------------
    async def audit(self, limit: int = AUDIT_LIMIT) -> list[dict[str, Any]]:
        m = moderation_actions.c
        query = (
            sa.select(
                m.id,
                m.at,
                m.actor_kind,
                m.actor_id,
                m.action,
                m.target_id,
                m.report_id,
                m.until,
                m.reason,
            )
            .order_by(m.at.desc(), m.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "id": str(row[0]),
                "at": _iso(row[1]),
                "actor": {"kind": row[2], "id": None if row[3] is None else str(row[3])},
                "action": row[4],
                "user_id": None if row[5] is None else str(row[5]),
                "report_id": None if row[6] is None else str(row[6]),
                "ban": ban_json(row[7]) if row[4] == "ban" else None,
                "reason": row[8],
            }
            for row in rows
        ]


async def _set_ban(conn: AsyncConnection, user_id: uuid.UUID, until: dt.datetime) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(banned_until=until))


async def _audit(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    target: uuid.UUID | None,
    *,
    report_id: uuid.UUID | None = None,
    until: dt.datetime | None = None,
    reason: str = "",
) -> None:
    if action == "ban" and until is None:
        until = PERMANENT
    await conn.execute(
        moderation_actions.insert().values(
            id=uuid.uuid4(),
            actor_id=actor.id,
            actor_kind=actor.kind,
            action=action,
            target_id=target,
            report_id=report_id,
            until=until,
            reason=reason[:1000],
        )
    )


async def _records(conn: AsyncConnection, people: Collection[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Each person's record for a moderator: account, reports filed and received (and how many
    of those were upheld), ratings received."""
    if not people:
        return {}
    ids = list(people)
    r, u = reports.c, users.c
    upheld = sa.func.count().filter(r.status.in_(("warned", "banned")))
    received = (
        sa.select(r.reported_id, sa.func.count(), upheld)
        .where(r.reported_id.in_(ids))
        .group_by(r.reported_id)
    )
    filed = (
        sa.select(r.reporter_id, sa.func.count())
        .where(r.reporter_id.in_(ids))
        .group_by(r.reporter_id)
    )
    rated = (
        sa.select(ratings.c.ratee_id, sa.func.count(), sa.func.avg(ratings.c.score))
        .where(ratings.c.ratee_id.in_(ids))
        .group_by(ratings.c.ratee_id)
    )
    accounts = sa.select(u.id, u.display_name, u.created_at, u.banned_until, u.held_since).where(
        u.id.in_(ids)
    )
    got = {row[0]: row for row in await conn.execute(received)}
    made = {row[0]: row[1] for row in await conn.execute(filed)}
    stars = {row[0]: row for row in await conn.execute(rated)}
    out: dict[uuid.UUID, Any] = {}
    for row in await conn.execute(accounts):
        g, s = got.get(row[0]), stars.get(row[0])
        out[row[0]] = {
            "display_name": row[1],
            "created_at": _iso(row[2]),
            "ban": ban_json(row[3]) if row[3] and row[3] > dt.datetime.now(dt.UTC) else None,
            "held": row[4] is not None,
            "reports_filed": made.get(row[0], 0),
            "reports_received": 0 if g is None else int(g[1]),
            "reports_upheld": 0 if g is None else int(g[2]),
            "ratings": {
                "count": 0 if s is None else int(s[1]),
                "average": None if s is None else round(float(s[2]), 2),
            },
        }
    return out


def _person(user_id: uuid.UUID | None, name: str, records: dict[uuid.UUID, Any]) -> dict[str, Any]:
    record = records.get(user_id) if user_id is not None else None
    return {
        "id": None if user_id is None else str(user_id),
        "display_name": name,
        "deleted": record is None,
        "record": record,
    }


def _report_json(row: Sequence[Any], records: dict[uuid.UUID, Any]) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "discussion_id": str(row[1]),
        "reporter": _person(row[2], row[3], records),
        "reported": _person(row[4], row[5], records),
        "reason": row[6],
        "note": row[7],
        "chat": row[8],
        "room_chat": row[9],
        "weight": row[10],
        "status": row[11],
        "created_at": _iso(row[12]),
        "decided_at": _iso(row[13]),
    }
