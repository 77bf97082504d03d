"""The Postgres schema as SQLAlchemy Core tables: one definition shared by the API, the agent
and the Alembic migrations. Rows never leave the adapters that query these tables.

Identities in LiveKit are the users' ids as text (`str(users.c.id)`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_now = sa.text("now()")


def _stamp(name: str) -> sa.Column[Any]:
    """A moment Postgres records as the row is written."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=_now)


def _moment(name: str) -> sa.Column[Any]:
    """A moment that may be unset (NULL), its column says when."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _ref(name: str, table: str, *, primary_key: bool = False) -> sa.Column[Any]:
    """A row of `table` by its id, deleted with it."""
    return sa.Column(
        name,
        sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def _per_person(name: str, person: str, *columns: sa.schema.SchemaItem) -> sa.Table:
    """A table of one row per discussion and person (`person` names its users column)."""
    return sa.Table(
        name,
        metadata,
        _ref("discussion_id", "discussions", primary_key=True),
        _ref(person, "users", primary_key=True),
        *columns,
    )


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("display_name", sa.String(40), nullable=False),
    sa.Column("bio", sa.String(280), nullable=False, server_default=""),
    # 'user' or 'moderator'; moderators may run debates they are not part of.
    sa.Column("role", sa.String(16), nullable=False, server_default="user"),
    _stamp("created_at"),
    # When the person confirmed being an adult and accepted the rules; NULL for accounts made
    # before the rules existed, which confirm at their next login.
    _moment("terms_accepted_at"),
    # A ban runs until then (lobby.db.safety.PERMANENT for a permanent one); NULL: not banned.
    _moment("banned_until"),
    # Held out of matching by the automatic rules until a moderator decides; NULL: not held.
    _moment("held_since"),
    # Whether the person lets an audience watch their debates (both debaters must).
    sa.Column("allow_audience", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("role in ('user', 'moderator')", name="role"),
)

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("slug", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("motion", sa.Text, nullable=False),
)

discussions = sa.Table(
    "discussions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("match_id", sa.String(64), nullable=False, unique=True),
    sa.Column("room", sa.String(128), nullable=False, unique=True),
    sa.Column("topic_slug", sa.ForeignKey("topics.slug"), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    _stamp("started_at"),
    _moment("ended_at"),
    # completed | forfeit | ended_by_moderator | abandoned | finished (casual talk ended) |
    # lost (its LiveKit room vanished with no end recorded: api.reconcile)
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("winner_id", UUID(as_uuid=True), nullable=True),
    # Set by the lobby agent when the room opens: a debate both debaters let be watched.
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    # When the last phase began (the moderator writes it): the audience may vote from then on.
    _moment("voting_opens_at"),
)

discussion_participants = _per_person(
    "discussion_participants",
    "user_id",
    # 'pro' | 'con' for debates, NULL for casual talks.
    sa.Column("side", sa.String(8), nullable=True),
)

ratings = _per_person(
    "ratings",
    "rater_id",
    _ref("ratee_id", "users"),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("talk_again", sa.Boolean, nullable=False),
    _stamp("created_at"),
    sa.CheckConstraint("score between 1 and 5", name="score"),
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    _ref("discussion_id", "discussions"),
    # Both people may delete their accounts; the report stays for the moderators (the names
    # as they were are kept beside the ids).
    sa.Column("reporter_id", sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("reported_id", sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("note", sa.String(1000), nullable=False, server_default=""),
    _stamp("created_at"),
    sa.Column("reporter_name", sa.String(40), nullable=False, server_default=""),
    sa.Column("reported_name", sa.String(40), nullable=False, server_default=""),
    # Evidence: the chat as the reporter's client showed it ([{"from", "text", "at"}]), and
    # the room's chat as the moderator agent recorded it, senders vouched for by LiveKit
    # ([{"from": user id, "text", "at"}]); NULL when there was no record.
    sa.Column("chat", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("room_chat", JSONB, nullable=True),
    # How much the report counts toward an automatic hold (a young reporter's counts less).
    sa.Column("weight", sa.Float, nullable=False, server_default="1"),
    # open | dismissed | warned | banned
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    _moment("decided_at"),
    sa.UniqueConstraint("discussion_id", "reporter_id", name="uq_reports_once"),
    sa.CheckConstraint("status in ('open', 'dismissed', 'warned', 'banned')", name="status"),
)
sa.Index("ix_reports_reported_id", reports.c.reported_id, reports.c.created_at)

blocks = sa.Table(
    "blocks",
    metadata,
    _ref("blocker_id", "users", primary_key=True),
    _ref("blocked_id", "users", primary_key=True),
    _stamp("created_at"),
    sa.CheckConstraint("blocker_id <> blocked_id", name="not_self"),
)

# LiveKit may deliver a webhook more than once; its event id is recorded in the same
# transaction as the event's effect, so a replay changes nothing.
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    _stamp("received_at"),
)

# Every moderation action, by a moderator or the operator's command line (`actor_id` NULL) or
# the automatic rules (`action` 'hold'). Ids are not foreign keys: the record outlives accounts.
moderation_actions = sa.Table(
    "moderation_actions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    _stamp("at"),
    sa.Column("actor_id", UUID(as_uuid=True), nullable=True),
    # moderator | operator | system
    sa.Column("actor_kind", sa.String(16), nullable=False),
    # dismiss | warn | ban | unban | hold | grant_moderator | revoke_moderator
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target_id", UUID(as_uuid=True), nullable=True),
    sa.Column("report_id", UUID(as_uuid=True), nullable=True),
    _moment("until"),
    sa.Column("reason", sa.String(1000), nullable=False, server_default=""),
    # A warning: when the warned person said they had read it (NULL: shown to them until then).
    _moment("seen_at"),
)
sa.Index("ix_moderation_actions_at", moderation_actions.c.at)
sa.Index("ix_moderation_actions_target", moderation_actions.c.target_id)

# The e-mail addresses of banned accounts deleted before their ban ended: no account is made
# with one until `until` (lobby.db.safety.PERMANENT for a permanent ban). Only a SHA-256 digest
# of the normalised address is kept (lobby.db.accounts.email_digest), and the row is removed
# once its ban is over.
barred_emails = sa.Table(
    "barred_emails",
    metadata,
    sa.Column("email_digest", sa.String(64), primary_key=True),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    _stamp("barred_at"),
)

# Accounts LiveKit's webhooks saw join a public debate's room as a spectator: only they vote.
spectators = _per_person(
    "spectators",
    "user_id",
    _stamp("joined_at"),
)

# One vote per spectator and debate, for the side they thought won.
votes = _per_person(
    "votes",
    "voter_id",
    sa.Column("side", sa.String(8), nullable=False),
    _stamp("created_at"),
    sa.CheckConstraint("side in ('pro', 'con')", name="side"),
)
