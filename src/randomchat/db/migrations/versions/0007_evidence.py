"""A report's picture (issue 24): the still of the partner's video the reporter attached.

One row per report that has one; deleted when a moderator closes the report and by the
server's sweep after ``--evidence-days`` (``db.evidence``).

Revision ID: 0007_evidence
Revises: 0006_reported_name
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_evidence"
down_revision: str | None = "0006_reported_name"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("report_id", ID, autoincrement=False, nullable=False),
        sa.Column("reporter", sa.Text(), nullable=False),
        sa.Column("reporter_address", sa.Text(), nullable=True),
        sa.Column("picture", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_evidence"),
    )
    op.create_index("ix_evidence_created_at", "evidence", ["created_at"])
    op.create_index("ix_evidence_reporter_created_at", "evidence", ["reporter", "created_at"])
    op.create_index(
        "ix_evidence_reporter_address_created_at", "evidence", ["reporter_address", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("evidence")
