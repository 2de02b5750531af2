"""Safety (issue 15): address hashes on bans and reports, and each report's weight.

Addresses are stored only as keyed hashes (HMAC-SHA256 of the IPv4 address or
IPv6 /64 with a key derived from the server's secret), never raw.

Revision ID: 0004_safety
Revises: 0003_console
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_safety"
down_revision: str | None = "0003_console"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("bans") as batch:
        batch.add_column(sa.Column("address_hash", sa.Text(), nullable=True))
    op.create_index("ix_bans_address_hash", "bans", ["address_hash"])
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("reporter_address", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reported_address", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("weight", sa.Double(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    op.drop_index("ix_bans_address_hash", table_name="bans")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("weight")
        batch.drop_column("reported_address")
        batch.drop_column("reporter_address")
    with op.batch_alter_table("bans") as batch:
        batch.drop_column("address_hash")
