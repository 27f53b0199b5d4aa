"""A pooled PostgreSQL connection that broke while it sat idle is found and replaced
before it fails a query; a busy one is handed out without a ping (one round trip fewer a
transaction: see ``database.PING_AFTER_IDLE_SECONDS``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from registry.store import database
from tests.conftest import BACKENDS

POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]


@pytest.fixture
def named(db_url: str) -> Iterator[tuple[sa.Engine, str]]:
    name = f"registry-ping-{uuid.uuid4().hex[:12]}"
    url = sa.engine.make_url(db_url).update_query_dict({"application_name": name})
    engine = database.create_engine(url.render_as_string(hide_password=False))
    try:
        yield engine, name
    finally:
        engine.dispose()


def _kill(db_url: str, name: str) -> int:
    admin = sa.create_engine(db_url)
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": name},
                ).scalar_one()
            )
    finally:
        admin.dispose()


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_a_connection_killed_while_idle_is_replaced_before_use(
    named: tuple[sa.Engine, str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, name = named
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    first = _backend_pid(engine)
    assert _kill(db_url, name) == 1
    assert _backend_pid(engine) != first  # pinged, found dead, replaced: no error


@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_a_connection_back_in_the_pool_at_once_is_not_pinged(
    named: tuple[sa.Engine, str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, name = named
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)
    _backend_pid(engine)
    assert _kill(db_url, name) == 1
    # Not pinged, so the dead connection is used: the query fails (the API answers 503),
    # and the pool is renewed for the next one.
    with pytest.raises(sa.exc.OperationalError):
        _backend_pid(engine)
    _backend_pid(engine)
