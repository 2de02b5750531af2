"""An index on bans.ended_at: the ban refresh reads only bans made or lifted since its last run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_bans_ended_at", "bans", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_bans_ended_at", table_name="bans")
