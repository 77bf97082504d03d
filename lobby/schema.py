"""The Postgres schema as SQLAlchemy Core tables: one definition shared by the API, the agent
and the Alembic migrations. Rows never leave the adapters that query these tables.

Identities in LiveKit are the users' ids as text (`str(users.c.id)`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

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
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
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
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    # completed | forfeit | ended_by_moderator | abandoned | finished (casual talk ended) |
    # lost (its LiveKit room vanished with no end recorded: api.reconcile)
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("winner_id", UUID(as_uuid=True), nullable=True),
    # Set by the lobby agent when the room opens: a debate both debaters let be watched.
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    # When the last phase began (the moderator writes it): the audience may vote from then on.
    sa.Column("voting_opens_at", sa.DateTime(timezone=True), nullable=True),
)

discussion_participants = sa.Table(
    "discussion_participants",
    metadata,
    sa.Column(
        "discussion_id",
        sa.ForeignKey("discussions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # 'pro' | 'con' for debates, NULL for casual talks.
    sa.Column("side", sa.String(8), nullable=True),
)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column(
        "discussion_id", sa.ForeignKey("discussions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("rater_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ratee_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("talk_again", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.CheckConstraint("score between 1 and 5", name="score"),
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("discussion_id", sa.ForeignKey("discussions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reporter_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reported_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("note", sa.String(1000), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.UniqueConstraint("discussion_id", "reporter_id", name="uq_reports_once"),
)

blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("blocker_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("blocked_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.CheckConstraint("blocker_id <> blocked_id", name="not_self"),
)

# LiveKit may deliver a webhook more than once; its event id is recorded in the same
# transaction as the event's effect, so a replay changes nothing.
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

# Accounts LiveKit's webhooks saw join a public debate's room as a spectator: only they vote.
spectators = sa.Table(
    "spectators",
    metadata,
    sa.Column(
        "discussion_id", sa.ForeignKey("discussions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

# One vote per spectator and debate, for the side they thought won.
votes = sa.Table(
    "votes",
    metadata,
    sa.Column(
        "discussion_id", sa.ForeignKey("discussions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("voter_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.CheckConstraint("side in ('pro', 'con')", name="side"),
)
