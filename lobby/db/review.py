"""The moderators' review queue: open reports first with their evidence and both people's
records, the reporter's own reports and what was decided, decisions, and the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from lobby.db.base import Gateway
from lobby.db.records import iso
from lobby.db.safety import (
    AUDIT_LIMIT,
    PERMANENT,
    QUEUE_LIMIT,
    STATUS_OF,
    Action,
    Actor,
    Decided,
    ban_json,
    record_action,
    set_ban,
)
from lobby.db.schema import moderation_actions, ratings, reports, users


class Review(Gateway):
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
        rows = await self.all_rows(query)
        return [
            {
                "id": str(row[0]),
                "discussion_id": str(row[1]),
                "user_name": row[2],
                "reason": row[3],
                "created_at": iso(row[4]),
                "status": row[5],
                "decided_at": iso(row[6]),
            }
            for row in rows
        ]

    # -- warnings, as the warned person reads them ----------------------------------------
    async def warnings(self, user: uuid.UUID) -> list[dict[str, Any]]:
        """The warnings moderators gave the user that they have not marked read, oldest first:
        when, and the reason the report gave (never who reported, what they wrote, or the
        moderator's note)."""
        m = moderation_actions.c
        query = (
            sa.select(m.id, m.at, reports.c.reason)
            .select_from(moderation_actions.outerjoin(reports, reports.c.id == m.report_id))
            .where(m.target_id == user, m.action == "warn", m.seen_at.is_(None))
            .order_by(m.at, m.id)
            .limit(QUEUE_LIMIT)
        )
        rows = await self.all_rows(query)
        return [{"id": str(row[0]), "at": iso(row[1]), "reason": row[2] or "other"} for row in rows]

    async def warning_read(self, user: uuid.UUID, warning_id: uuid.UUID) -> bool:
        """Mark one of the user's warnings read (again: no change); False when the user has
        no such warning."""
        m = moderation_actions.c
        query = (
            moderation_actions.update()
            .where(m.id == warning_id, m.target_id == user, m.action == "warn")
            .values(seen_at=sa.func.coalesce(m.seen_at, sa.func.now()))
            .returning(m.id)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).first() is not None

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
        async with self.reads.connect() as conn:
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
                    await set_ban(conn, reported, until or PERMANENT)
            await record_action(
                conn, actor, action, reported, report_id=report_id, until=until, reason=note
            )
        return Decided(report_id, reported, status)

    # -- bans ------------------------------------------------------------------------------
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
        rows = await self.all_rows(query)
        return [
            {
                "id": str(row[0]),
                "at": iso(row[1]),
                "actor": {"kind": row[2], "id": None if row[3] is None else str(row[3])},
                "action": row[4],
                "user_id": None if row[5] is None else str(row[5]),
                "report_id": None if row[6] is None else str(row[6]),
                "ban": ban_json(row[7]) if row[4] == "ban" else None,
                "reason": row[8],
            }
            for row in rows
        ]


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
            "created_at": iso(row[2]),
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
        "created_at": iso(row[12]),
        "decided_at": iso(row[13]),
    }
