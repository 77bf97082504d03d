"""Trust and safety in Postgres: consent, accounts and roles, report weights and the automatic
hold, bans. Every moderation action writes its audit row (`record_action`) in the same
transaction as its effect, so the log never misses one nor records one that did not happen.
The moderators' review queue and the audit log's reading are lobby/db/review.py's."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lobby.db.accounts import email_digest
from lobby.db.base import Gateway
from lobby.db.schema import barred_emails, discussions, moderation_actions, reports, users

# A permanent ban is stored as a ban until the end of the calendar (one column, one query).
PERMANENT = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
Action = Literal["dismiss", "warn", "ban"]
ActorKind = Literal["moderator", "operator", "system"]
STATUS_OF: dict[Action, str] = {"dismiss": "dismissed", "warn": "warned", "ban": "banned"}
QUEUE_LIMIT = 100
AUDIT_LIMIT = 200


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
        return ban_in_force(self.banned_until, now)


def ban_in_force(until: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a ban running until `until` (None: no ban) still holds at `now`."""
    return until is not None and until > now


@dataclass(frozen=True, slots=True)
class Decided:
    report_id: uuid.UUID
    reported_id: uuid.UUID | None
    status: str


class Safety(Gateway):
    # -- accounts --------------------------------------------------------------------------
    async def account(self, user_id: uuid.UUID) -> AccountState | None:
        u = users.c
        query = sa.select(
            u.id, u.role, u.created_at, u.terms_accepted_at, u.banned_until, u.held_since
        ).where(u.id == user_id)
        row = await self.first_row(query)
        return None if row is None else AccountState(*row)

    async def user_by_email(self, email: str) -> uuid.UUID | None:
        async with self.reads.connect() as conn:
            found = await conn.scalar(sa.select(users.c.id).where(users.c.email == email))
        return None if found is None else uuid.UUID(str(found))

    async def is_moderator(self, user: str) -> bool:
        try:
            user_id = uuid.UUID(user)
        except ValueError:
            return False
        async with self.reads.connect() as conn:
            role = await conn.scalar(sa.select(users.c.role).where(users.c.id == user_id))
        return role == "moderator"

    async def accept_terms(self, user_id: uuid.UUID) -> None:
        query = users.update().where(users.c.id == user_id).values(terms_accepted_at=sa.func.now())
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def delete_account(self, user_id: uuid.UUID) -> bool:
        """The account and what hangs on it go (ratings, blocks, seats in discussions);
        reports by or about the person stay, with the names they were filed under. An account
        deleted while banned leaves its address barred until the ban ends, so that registering
        again does not lift it (schema.barred_emails)."""
        async with self.engine.begin() as conn:
            gone = (
                await conn.execute(
                    users.delete()
                    .where(users.c.id == user_id)
                    .returning(users.c.email, users.c.banned_until)
                )
            ).first()
            if gone is not None and ban_in_force(gone.banned_until, dt.datetime.now(dt.UTC)):
                await _bar(conn, gone.email, gone.banned_until)
        return gone is not None

    async def set_role(self, user_id: uuid.UUID, role: str, actor: Actor) -> None:
        action = "grant_moderator" if role == "moderator" else "revoke_moderator"
        async with self.engine.begin() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(role=role))
            await record_action(conn, actor, action, user_id)

    # -- reports ---------------------------------------------------------------------------
    async def discussion_of_room(self, room: str) -> uuid.UUID | None:
        query = sa.select(discussions.c.id).where(discussions.c.room == room)
        async with self.reads.connect() as conn:
            found = await conn.scalar(query)
        return None if found is None else uuid.UUID(str(found))

    async def report_weight(self, reporter: uuid.UUID, young: float, low: float) -> float:
        """How much a report by this account counts: `low` while it is younger than `young`
        seconds (a fresh account costs an attacker nothing), else 1."""
        age = sa.func.extract("epoch", sa.func.now() - users.c.created_at)
        async with self.reads.connect() as conn:
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
            await record_action(conn, SYSTEM, "hold", reported, report_id=report_id)
        return True

    async def ban(
        self, user_id: uuid.UUID, until: dt.datetime | None, actor: Actor, reason: str = ""
    ) -> None:
        """Ban until then (None: for good)."""
        async with self.engine.begin() as conn:
            await set_ban(conn, user_id, until or PERMANENT)
            await record_action(conn, actor, "ban", user_id, until=until, reason=reason)

    async def unban(self, user_id: uuid.UUID, actor: Actor, reason: str = "") -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(banned_until=None)
            )
            await record_action(conn, actor, "unban", user_id, reason=reason)

    async def sanctioned(self) -> list[tuple[str, dt.datetime | None, bool]]:
        """(user, ban end or None, held) of every account banned now or held."""
        u = users.c
        query = sa.select(u.id, u.banned_until, u.held_since).where(
            sa.or_(u.banned_until > sa.func.now(), u.held_since.is_not(None))
        )
        rows = await self.all_rows(query)
        return [
            (
                str(row[0]),
                row[1] if row[1] and row[1] > dt.datetime.now(dt.UTC) else None,
                row[2] is not None,
            )
            for row in rows
        ]

    # -- the audit log ---------------------------------------------------------------------


async def set_ban(conn: AsyncConnection, user_id: uuid.UUID, until: dt.datetime) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(banned_until=until))


async def record_action(
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


async def _bar(conn: AsyncConnection, email: str, until: dt.datetime) -> None:
    """Bar `email` until `until` (a later bar of the same address wins), and drop bars that
    have run out."""
    await conn.execute(barred_emails.delete().where(barred_emails.c.until <= sa.func.now()))
    bar = pg_insert(barred_emails).values(email_digest=email_digest(email), until=until)
    keep_later = sa.func.greatest(barred_emails.c.until, bar.excluded.until)
    await conn.execute(
        bar.on_conflict_do_update(index_elements=["email_digest"], set_={"until": keep_later})
    )
