"""The reported user's shown name with each report (issue 24).

A report stored only ids; a moderator reads names. The name is the one the server
showed the reporter in that call (``Rules.shown_name``), so the console can put it
beside the id and list the user's earlier names. Reports from before keep "".

Revision ID: 0006_reported_name
Revises: 0005_reporter_standing
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_reported_name"
down_revision: str | None = "0005_reporter_standing"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("reported_name", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("reported_name")
