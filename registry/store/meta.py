"""Settings the database and every process using it must agree on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import SchemaError

meta = sa.table("meta", sa.column("key"), sa.column("value"))

SUBJECT_KEY_ID = "subject_key_id"


def ensure_subject_key(session: Session, key_id: str) -> None:
    """Record the subject-hash key's id on first use; refuse a process with another key,
    whose hashes would not find the people already accounted for."""
    stored = session.execute(sa.select(meta.c.value).where(meta.c.key == SUBJECT_KEY_ID)).scalar()
    if stored is None:
        session.execute(sa.insert(meta).values(key=SUBJECT_KEY_ID, value=key_id))
    elif stored != key_id:
        raise SchemaError(
            f"this database's disclosures are hashed with subject key {stored}, but this "
            f"process has key {key_id}: configure the same REGISTRY_SUBJECT_KEY (or key file) "
            "for every process that uses the database"
        )
