"""Trust and safety: consent, bans and holds on users; evidence and decisions on reports (which
now outlive both accounts); the moderation audit log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"

_now = sa.text("now()")
_PEOPLE = ("reporter_id", "reported_id")


def _foreign_key(column: str) -> str:
    """The name Postgres gave the reports -> users key on `column`."""
    for fk in sa.inspect(op.get_bind()).get_foreign_keys("reports"):
        if fk["constrained_columns"] == [column]:
            return str(fk["name"])
    raise RuntimeError(f"no foreign key on reports.{column}")


def _relink(ondelete: str) -> None:
    for column in _PEOPLE:
        op.drop_constraint(_foreign_key(column), "reports", type_="foreignkey")
        op.create_foreign_key(
            f"fk_reports_{column}_users", "reports", "users", [column], ["id"], ondelete=ondelete
        )


def upgrade() -> None:
    for column in ("terms_accepted_at", "banned_until", "held_since"):
        op.add_column("users", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    _relink("SET NULL")
    for column in _PEOPLE:
        op.alter_column("reports", column, nullable=True)
    for name in ("reporter_name", "reported_name"):
        op.add_column("reports", sa.Column(name, sa.String(40), nullable=False, server_default=""))
    op.add_column(
        "reports",
        sa.Column("chat", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column("reports", sa.Column("room_chat", JSONB, nullable=True))
    op.add_column("reports", sa.Column("weight", sa.Float, nullable=False, server_default="1"))
    op.add_column(
        "reports", sa.Column("status", sa.String(16), nullable=False, server_default="open")
    )
    op.add_column("reports", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        "ck_reports_status", "reports", "status in ('open', 'dismissed', 'warned', 'banned')"
    )
    op.create_index("ix_reports_reported_id", "reports", ["reported_id", "created_at"])
    op.create_table(
        "moderation_actions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.Column("actor_id", UUID(as_uuid=True), nullable=True),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_id", UUID(as_uuid=True), nullable=True),
        sa.Column("report_id", UUID(as_uuid=True), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=False, server_default=""),
    )
    op.create_index("ix_moderation_actions_at", "moderation_actions", ["at"])


def downgrade() -> None:
    op.drop_table("moderation_actions")
    op.drop_index("ix_reports_reported_id", "reports")
    op.drop_constraint("ck_reports_status", "reports", type_="check")
    for name in ("decided_at", "status", "weight", "room_chat", "chat"):
        op.drop_column("reports", name)
    for name in ("reported_name", "reporter_name"):
        op.drop_column("reports", name)
    op.execute("delete from reports where reporter_id is null or reported_id is null")
    for column in _PEOPLE:
        op.alter_column("reports", column, nullable=False)
    _relink("CASCADE")
    for column in ("held_since", "banned_until", "terms_accepted_at"):
        op.drop_column("users", column)
