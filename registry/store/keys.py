"""The public keys that sign receipts. Rows are added, never changed or removed, so a
receipt signed under a key that has since been replaced still verifies."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import SchemaError
from ..schemas.receipt import PublicKey
from .convert import utc
from .tables import signing_key

ALGORITHM = "Ed25519"


def register(session: Session, key_id: str, public_key_hex: str) -> None:
    """Record a public key on first use, inside the caller's write transaction.

    Two processes registering the same new key at once: one insert fails on the primary
    key, and the caller retries (``store.retry.retrying``) and finds the row.
    """
    stored = session.execute(
        sa.select(signing_key.c.public_key).where(signing_key.c.key_id == key_id)
    ).scalar()
    if stored is None:
        session.execute(
            sa.insert(signing_key).values(
                key_id=key_id,
                algorithm=ALGORITHM,
                public_key=public_key_hex,
                created_at=datetime.datetime.now(datetime.UTC),
            )
        )
    elif stored != public_key_hex:  # two keys whose SHA-256 starts alike: never in practice
        raise SchemaError(
            f"this database already has another public key with id {key_id}: "
            "configure a new REGISTRY_SIGNING_KEY_FILE"
        )


def all_keys(session: Session) -> list[PublicKey]:
    """Every key that has signed receipts for this database, oldest first."""
    rows = session.execute(
        sa.select(
            signing_key.c.key_id,
            signing_key.c.algorithm,
            signing_key.c.public_key,
            signing_key.c.created_at,
        ).order_by(signing_key.c.created_at, signing_key.c.key_id)
    ).all()
    return [
        PublicKey(
            key_id=row.key_id,
            algorithm=row.algorithm,
            public_key=row.public_key,
            created_at=utc(row.created_at),
        )
        for row in rows
    ]


__all__ = ["all_keys", "register"]
