"""Reporter standing (issue 22): reports looked up by their reporter.

Each new report reads what moderators made of its reporter's earlier reports and
how many they filed today (``db.safety.reporter_record``); without this index that
read would scan every report.

Revision ID: 0005_reporter_standing
Revises: 0004_safety
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision: str = "0005_reporter_standing"
down_revision: str | None = "0004_safety"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_reports_reporter_created_at", "reports", ["reporter", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_reporter_created_at", table_name="reports")
