"""The database going away: every route that needs it answers 503 with a clear message
and Retry-After, nothing is recorded, and the service answers again when the database is
back, with no restart."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api
from tests.checking.helpers import record, request
from tests.conftest import BACKENDS
from tests.faults import Proxy, api_on

POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]
MESSAGE = "the registry's database is not answering; nothing was recorded, try again shortly"


def assert_unavailable(answer: Any) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {"status_code": 503, "detail": MESSAGE}


def assert_gone(api: Api) -> None:
    """Reads, writes, checks and the health check while the database is away."""
    assert_unavailable(api.get("/v1/agreements", "legal"))
    assert_unavailable(api.get("/v1/decisions", "auditor"))
    assert_unavailable(api.post("/v1/checks", "system", json=request(records=[record(1)])))
    assert_unavailable(
        api.post(
            "/v1/agreements/irs-ice-2025-mou/suspend",
            "legal",
            json={"on": "2025-06-01", "reason": "while away"},
        )
    )
    health = api.client.get("/health")
    assert health.status_code == 503
    assert health.json()["database"] == "unreachable"


def assert_back(api: Api, decisions_before: int) -> None:
    """Answers again, and nothing from the time away was recorded."""
    assert api.client.get("/health").json()["status"] == "ok"
    assert api.get("/v1/agreements", "legal").status_code == 200
    history = api.get("/v1/agreements/irs-ice-2025-mou/history", "legal").json()
    assert [h["kind"] for h in history] == ["version"]
    assert len(api.get("/v1/decisions", "auditor").json()) == decisions_before
    checked = api.post("/v1/checks", "system", json=request(records=[record(2)]))
    assert checked.status_code == 200 and checked.json()["allowed"] is True
    assert len(api.get("/v1/decisions", "auditor").json()) == decisions_before + 1
    assert api.get("/v1/decisions/verify", "auditor").json()["ok"] is True


def test_sqlite_file_going_away_is_503_until_it_is_back(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    with api_on(f"sqlite:///{folder / 'registry.db'}") as api:
        assert api.post("/v1/checks", "system", json=request(records=[record(1)])).is_success
        folder.rename(tmp_path / "away")  # an unmounted volume, say
        api.registry.db.engine.dispose()  # and the connections open on it went with it
        assert_gone(api)
        (tmp_path / "away").rename(folder)
        assert_back(api, decisions_before=1)


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_postgresql_going_away_is_503_until_it_is_back(db_url: str) -> None:
    proxy, through_proxy = Proxy.before(db_url)
    try:
        with api_on(through_proxy) as api:
            assert api.post("/v1/checks", "system", json=request(records=[record(1)])).is_success
            proxy.cut()
            assert_gone(api)
            proxy.restore()
            assert_back(api, decisions_before=1)
    finally:
        proxy.close()


@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_postgresql_connection_killed_mid_check_is_503_and_records_nothing(
    db_url: str,
) -> None:
    """The check waits for the decision log's lock (held here); its connection is then
    terminated by the server, as a restart or a failover would."""
    name = f"registry-test-{uuid.uuid4().hex[:12]}"
    ours = sa.engine.make_url(db_url).update_query_dict({"application_name": name})
    admin = sa.create_engine(db_url)
    try:
        with api_on(ours.render_as_string(hide_password=False)) as api:
            answers: list[Any] = []
            with admin.connect() as holder:
                holder.execute(sa.text("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE"))
                waiting = threading.Thread(
                    target=lambda: answers.append(
                        api.post("/v1/checks", "system", json=request(records=[record(1)]))
                    )
                )
                waiting.start()
                _wait_for_lock_wait(admin, name)
                with admin.connect() as killer:
                    killed = killer.execute(
                        sa.text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE application_name = :name"
                        ),
                        {"name": name},
                    ).scalar_one()
                assert killed >= 1
                waiting.join(timeout=30)
                holder.rollback()
            assert not waiting.is_alive()
            assert_unavailable(answers[0])
            assert_back(api, decisions_before=0)
    finally:
        admin.dispose()


def _wait_for_lock_wait(engine: sa.Engine, name: str) -> None:
    deadline = time.monotonic() + 20
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = :name AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query, {"name": name}).scalar_one():
                return
        time.sleep(0.02)
    raise AssertionError("the check never waited for the decision log's lock")
