"""A warning a moderator gives is shown to the warned person until they say they have read it:
when they did, on the warning's row in the audit log."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("moderation_actions", sa.Column("seen_at", sa.DateTime(timezone=True)))
    op.create_index("ix_moderation_actions_target", "moderation_actions", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_moderation_actions_target", "moderation_actions")
    op.drop_column("moderation_actions", "seen_at")
