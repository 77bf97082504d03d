"""The audience: who lets their debates be watched, which debates are public, when voting
opens, the spectators LiveKit saw join, and their votes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"

_now = sa.text("now()")


def _ref(name: str, table: str) -> sa.Column[object]:
    return sa.Column(
        name, UUID(as_uuid=True), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("allow_audience", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "discussions",
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "discussions", sa.Column("voting_opens_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "spectators",
        _ref("discussion_id", "discussions"),
        _ref("user_id", "users"),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.PrimaryKeyConstraint("discussion_id", "user_id", name="pk_spectators"),
    )
    op.create_table(
        "votes",
        _ref("discussion_id", "discussions"),
        _ref("voter_id", "users"),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.PrimaryKeyConstraint("discussion_id", "voter_id", name="pk_votes"),
        sa.CheckConstraint("side in ('pro', 'con')", name="ck_votes_side"),
    )


def downgrade() -> None:
    op.drop_table("votes")
    op.drop_table("spectators")
    op.drop_column("discussions", "voting_opens_at")
    op.drop_column("discussions", "public")
    op.drop_column("users", "allow_audience")
