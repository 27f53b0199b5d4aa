"""Retrying a write transaction that lost a race to a concurrent writer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from ..errors import Conflict, DatabaseUnavailable

T = TypeVar("T")
WRITE_ATTEMPTS = 5


def retrying(write: Callable[[], T], attempts: int | None = None) -> T:
    """Run a write transaction, again when a concurrent writer got in first.

    Two processes creating the same new agreement collide on its primary key; the loser
    retries, finds the row and amends it instead. Errors in the input are not retried.
    """
    tries = attempts or WRITE_ATTEMPTS
    for attempt in range(tries):
        try:
            return write()
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            if not _transient(exc) and isinstance(exc, sa.exc.OperationalError):
                raise DatabaseUnavailable(f"the database failed: {exc.orig}") from exc
            if attempt == tries - 1 or not _transient(exc):
                raise Conflict(f"a concurrent change got in the way: {exc.orig}") from exc
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _transient(exc: sa.exc.DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(s in text for s in ("unique", "duplicate key", "deadlock", "serializ", "locked"))
