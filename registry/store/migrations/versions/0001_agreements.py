"""Parties, agreements, their immutable versions and dated status events.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "party",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "party_version",
        sa.Column("party_id", sa.String(120), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
    )
    op.create_table(
        "agreement",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("discloser", sa.String(120), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_agreement_discloser", "agreement", ["discloser"])
    op.create_table(
        "agreement_version",
        sa.Column("agreement_id", sa.String(120), sa.ForeignKey("agreement.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("version_effective", sa.Date(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_agreement_version_version_effective", "agreement_version", ["version_effective"]
    )
    op.create_index("ix_agreement_version_expires", "agreement_version", ["expires"])
    op.create_table(
        "status_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agreement_id", sa.String(120), sa.ForeignKey("agreement.id"), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_status_event_agreement_id", "status_event", ["agreement_id"])


def downgrade() -> None:
    op.drop_table("status_event")
    op.drop_table("agreement_version")
    op.drop_table("agreement")
    op.drop_table("party_version")
    op.drop_table("party")
