"""Users, topics, discussions and their participants, ratings, reports, blocks, webhook ids."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0001"
down_revision = None

_now = sa.text("now()")


def _created() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now)


def _ref(name: str, table: str, *, primary_key: bool = False) -> sa.Column[object]:
    """A uuid naming a row of `table`, deleted with it."""
    return sa.Column(
        name,
        UUID(as_uuid=True),
        sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("display_name", sa.String(40), nullable=False),
        sa.Column("bio", sa.String(280), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        _created(),
        sa.CheckConstraint("role in ('user', 'moderator')", name="ck_users_role"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "topics",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("motion", sa.Text, nullable=False),
    )
    op.create_table(
        "discussions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("match_id", sa.String(64), nullable=False),
        sa.Column("room", sa.String(128), nullable=False),
        sa.Column("topic_slug", sa.String(64), sa.ForeignKey("topics.slug"), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("winner_id", UUID(as_uuid=True), nullable=True),
        sa.UniqueConstraint("match_id", name="uq_discussions_match_id"),
        sa.UniqueConstraint("room", name="uq_discussions_room"),
    )
    op.create_table(
        "discussion_participants",
        _ref("discussion_id", "discussions", primary_key=True),
        _ref("user_id", "users", primary_key=True),
        sa.Column("side", sa.String(8), nullable=True),
    )
    op.create_index("ix_discussion_participants_user_id", "discussion_participants", ["user_id"])
    op.create_table(
        "ratings",
        _ref("discussion_id", "discussions", primary_key=True),
        _ref("rater_id", "users", primary_key=True),
        _ref("ratee_id", "users"),
        sa.Column("score", sa.SmallInteger, nullable=False),
        sa.Column("talk_again", sa.Boolean, nullable=False),
        _created(),
        sa.CheckConstraint("score between 1 and 5", name="ck_ratings_score"),
    )
    op.create_table(
        "reports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _ref("discussion_id", "discussions"),
        _ref("reporter_id", "users"),
        _ref("reported_id", "users"),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False, server_default=""),
        _created(),
        sa.UniqueConstraint("discussion_id", "reporter_id", name="uq_reports_once"),
    )
    op.create_table(
        "blocks",
        _ref("blocker_id", "users", primary_key=True),
        _ref("blocked_id", "users", primary_key=True),
        _created(),
        sa.CheckConstraint("blocker_id <> blocked_id", name="ck_blocks_not_self"),
    )
    op.create_index("ix_blocks_blocked_id", "blocks", ["blocked_id"])
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    )


def downgrade() -> None:
    for table in (
        "webhook_events",
        "blocks",
        "reports",
        "ratings",
        "discussion_participants",
        "discussions",
        "topics",
        "users",
    ):
        op.drop_table(table)
