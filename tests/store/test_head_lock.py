"""The log's head lock and the catalog on PostgreSQL: a check batch that waited for the
lock decides under the catalog as it is when it gets the lock, not as it was when it
asked (a suspension confirmed to its author while checks queued must stop them)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.store import decisions as log
from registry.store.database import open_database
from tests.conftest import BACKENDS

POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]


@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_a_batch_that_waited_for_the_lock_sees_catalog_changes_committed_meanwhile(
    db_url: str,
) -> None:
    db = open_database(db_url)
    seen: dict[str, int] = {}

    def check_batch() -> None:  # B: waits for A's lock
        with db.write() as session:
            seen["with_the_lock"] = log.lock_head(session).catalog_revision
            # A statement of its own sees every change committed before it began: while
            # B holds the lock, the catalog cannot have moved since the lock was granted.
            seen["now"] = log.catalog_revision(session)

    def catalog_change() -> None:  # C: an agreement suspended, say
        with db.write() as session:
            log.bump_catalog(session)

    try:
        with db.engine.connect() as a:  # A: a batch holding the lock
            a.begin()
            log.lock_head(Session(bind=a))
            b = threading.Thread(target=check_batch)
            b.start()
            time.sleep(0.2)  # B is waiting for A
            c = threading.Thread(target=catalog_change)
            c.start()
            time.sleep(0.2)  # C has committed, or waits for A
            a.execute(sa.text("UPDATE chain_head SET seq = seq WHERE id = 1"))
            a.commit()
        b.join(10)
        c.join(10)
        assert not b.is_alive() and not c.is_alive()
        assert seen["with_the_lock"] == seen["now"]
    finally:
        db.dispose()
