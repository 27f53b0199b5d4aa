"""The subject keys a database hashes people with, and which one is current.

Only a key's id is stored, never the key. Each key a database has used is one row, its
``epoch`` counting from 1; the highest epoch is the current key, which hashes every new
disclosure entry. The others were retired by rotations: no entry is hashed with them any
more, but looking a person up needs them, for the entries made before.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ConfigError, Conflict, SchemaError
from ..schemas.views import View
from .convert import utc
from .decisions import bump_catalog, lock_head
from .tables import subject_key


class SubjectKey(View, frozen=True):
    """A key this database hashes, or hashed, people with: its id, never the key."""

    epoch: int
    key_id: str
    recorded_at: datetime.datetime  # when it became current, and who made it so
    recorded_by: str
    retired_at: datetime.datetime | None = None  # None: the current key


def subject_keys(session: Session) -> list[SubjectKey]:
    """Every key the database has used, oldest first; the last one is current."""
    rows = session.execute(sa.select(subject_key).order_by(subject_key.c.epoch)).all()
    return [
        SubjectKey(
            epoch=row.epoch,
            key_id=row.key_id,
            recorded_at=utc(row.recorded_at),
            recorded_by=row.recorded_by,
            retired_at=utc(rows[index + 1].recorded_at) if index + 1 < len(rows) else None,
        )
        for index, row in enumerate(rows)
    ]


def ensure_subject_key(
    session: Session, key_id: str, retired: Collection[str], by: str, at: datetime.datetime
) -> None:
    """Record the current key's id on first use; refuse a process whose current key is
    not the database's, whose hashes would not find the people already accounted for."""
    if not subject_keys(session):
        session.execute(
            sa.insert(subject_key).values(epoch=1, key_id=key_id, recorded_at=at, recorded_by=by)
        )
        return
    check_subject_key(session, key_id, retired)


def check_subject_key(session: Session, key_id: str, retired: Collection[str]) -> None:
    """Refuse a process whose current key is not the database's current key, saying what
    to do: put the current key first, or rotate to the new one."""
    known = subject_keys(session)
    if not known or known[-1].key_id == key_id:
        return
    current = known[-1]
    mine = next((k for k in known if k.key_id == key_id), None)
    if mine is not None and mine.retired_at is not None:
        raise SchemaError(
            f"this process's subject key {key_id} was retired from this database on "
            f"{mine.retired_at:%Y-%m-%d %H:%M}Z; its current key is {current.key_id}: put "
            "that key first in the key file (or REGISTRY_SUBJECT_KEY) of every process that "
            "uses the database, and restart those started before the rotation"
        )
    if current.key_id in retired:
        raise SchemaError(
            f"this process's subject key {key_id} is new to this database, whose current key "
            f"{current.key_id} it holds as retired: run `registry subject-key rotate` to make "
            f"{key_id} current, or put {current.key_id} first again"
        )
    raise SchemaError(
        f"this database's disclosures are hashed with subject key {current.key_id}, but this "
        f"process has key {key_id}: configure the same REGISTRY_SUBJECT_KEY (or key file) "
        "for every process that uses the database"
    )


def rotate_subject_key(
    session: Session, key_id: str, retired: Collection[str], by: str, at: datetime.datetime
) -> SubjectKey:
    """Make ``key_id`` the current key. Every key the database used before must be among
    ``retired`` (the process's retired keys), so that everyone disclosed under them can
    still be looked up. A retired key never becomes current again."""
    lock_head(session)  # between checks: each one's entries are under the key it logs
    known = subject_keys(session)
    if not known:
        raise Conflict(
            "this database has no subject key yet: its first check records the current key; "
            "there is nothing to rotate"
        )
    current = known[-1]
    if current.key_id == key_id:
        raise Conflict(
            f"subject key {key_id} is already this database's current key: put the new key "
            "first in the key file, and this one after it"
        )
    if any(k.key_id == key_id for k in known):
        raise Conflict(
            f"subject key {key_id} was retired from this database: a retired key does not "
            "become current again; make a new key"
        )
    missing = [k.key_id for k in known if k.key_id not in retired]
    if missing:
        raise ConfigError(
            "rotating needs every subject key this database has used among this process's "
            f"retired keys, and it lacks {', '.join(missing)}: keep them in the key file after "
            "the new key, or the people disclosed under them could not be looked up"
        )
    session.execute(
        sa.insert(subject_key).values(
            epoch=current.epoch + 1, key_id=key_id, recorded_at=at, recorded_by=by
        )
    )
    bump_catalog(session)  # running processes read the catalog again, and see the rotation
    return SubjectKey(epoch=current.epoch + 1, key_id=key_id, recorded_at=at, recorded_by=by)


def missing_subject_keys(session: Session, key_ids: Collection[str]) -> list[SubjectKey]:
    """The keys the database has used that are not among ``key_ids``."""
    return [k for k in subject_keys(session) if k.key_id not in key_ids]
