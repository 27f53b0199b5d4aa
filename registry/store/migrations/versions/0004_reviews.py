"""Reviews of agreements: outcome, note and next review date, with who recorded them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_review",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agreement_id", sa.String(120), sa.ForeignKey("agreement.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_agreement_review_agreement", "agreement_review", ["agreement_id"])


def downgrade() -> None:
    op.drop_table("agreement_review")
