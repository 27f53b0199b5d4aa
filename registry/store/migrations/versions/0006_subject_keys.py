"""Subject keys: the database's current key and those retired by rotations, in order.

The key id recorded in ``meta`` before becomes epoch 1, the current key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
OLD_KEY = "subject_key_id"


def upgrade() -> None:
    subject_key = op.create_table(
        "subject_key",
        sa.Column("epoch", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("key_id", name="uq_subject_key_key_id"),
    )
    connection = op.get_bind()
    old = connection.execute(sa.select(meta.c.value).where(meta.c.key == OLD_KEY)).scalar()
    if old is not None:
        op.bulk_insert(
            subject_key,
            [
                {
                    "epoch": 1,
                    "key_id": old,
                    "recorded_at": datetime.datetime.now(datetime.UTC),
                    "recorded_by": "registry db upgrade",
                }
            ],
        )
        op.execute(sa.delete(meta).where(meta.c.key == OLD_KEY))


def downgrade() -> None:
    """Back to one key: the current one. The retired keys' ids are forgotten."""
    connection = op.get_bind()
    current = connection.execute(
        sa.text("SELECT key_id FROM subject_key ORDER BY epoch DESC LIMIT 1")
    ).scalar()
    if current is not None:
        op.bulk_insert(meta, [{"key": OLD_KEY, "value": current}])
    op.drop_table("subject_key")
