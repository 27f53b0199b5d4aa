"""Decision log (hash-chained), disclosure accounting, catalog counter, meta settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "catalog",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "decision_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("agreement_id", sa.String(120), nullable=True),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("source_system", sa.String(120), nullable=False),
        sa.Column("recipient", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(120), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("records_counted", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("decision_id", "kind", name="uq_decision_log_decision_kind"),
    )
    op.create_index("ix_decision_log_agreement_on", "decision_log", ["agreement_id", "on_date"])
    op.create_table(
        "disclosure",
        sa.Column("decision_seq", sa.BigInteger(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("subject", sa.LargeBinary(16), nullable=False),
    )
    op.create_index("ix_disclosure_subject", "disclosure", ["subject"])
    op.create_index("ix_disclosure_decision_seq", "disclosure", ["decision_seq"])
    op.bulk_insert(
        sa.table("catalog", sa.column("id", sa.Integer), sa.column("revision", sa.BigInteger)),
        [{"id": 1, "revision": 0}],
    )
    op.bulk_insert(
        sa.table(
            "chain_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.BigInteger),
            sa.column("hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "hash": GENESIS}],
    )


def downgrade() -> None:
    op.drop_table("disclosure")
    op.drop_table("decision_log")
    op.drop_table("chain_head")
    op.drop_table("meta")
    op.drop_table("catalog")
