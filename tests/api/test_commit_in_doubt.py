"""A connection to PostgreSQL that breaks after COMMIT was sent: the server committed, the
registry never heard back. The registry asks the server what became of the commit, so
that the caller is answered with what was recorded, never told "nothing was recorded"
about a decision that is in the log (a 503 a client would repeat, deciding twice)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from registry.store import database
from tests.api.conftest import Api
from tests.checking.helpers import record, request
from tests.conftest import BACKENDS
from tests.faults import Proxy, api_on

POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]
pytestmark = pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)


@pytest.fixture
def through_proxy(db_url: str) -> Iterator[tuple[Api, Proxy]]:
    proxy, url = Proxy.before(db_url)
    try:
        with api_on(url) as api:
            # The first check writes the keys' ids: the commit to lose is a check's.
            assert api.post("/v1/checks", "system", json=request(records=[record(1)])).is_success
            yield api, proxy
    finally:
        proxy.close()


def logged(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT decision_id FROM decision_log ORDER BY seq"))
            return [row.decision_id for row in rows]
    finally:
        engine.dispose()


def back_soon(proxy: Proxy) -> threading.Timer:
    timer = threading.Timer(0.5, proxy.restore)
    timer.start()
    return timer


def test_a_check_whose_commit_went_unanswered_gets_its_decision(
    db_url: str, through_proxy: tuple[Api, Proxy]
) -> None:
    api, proxy = through_proxy
    proxy.cut_after_next_commit()
    back_soon(proxy)
    answer = api.post("/v1/checks", "system", json=request(records=[record(2)]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["allowed"] is True
    assert logged(db_url)[1:] == [answer.json()["decision_id"]]
    assert api.registry.verify().ok


def test_a_streamed_check_whose_commit_went_unanswered_gets_its_decision(
    db_url: str, through_proxy: tuple[Api, Proxy]
) -> None:
    api, proxy = through_proxy
    lines = [json.dumps(request()), json.dumps(record(2)), json.dumps(record(3))]
    proxy.cut_after_next_commit()
    back_soon(proxy)
    answer = api.post(
        "/v1/checks/records",
        "system",
        content="\n".join(lines).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    assert logged(db_url)[1:] == [answer.json()["decision_id"]]


def test_an_amendment_whose_commit_went_unanswered_is_answered_as_saved(
    db_url: str, through_proxy: tuple[Api, Proxy]
) -> None:
    api, proxy = through_proxy
    document = api.get("/v1/agreements/irs-ice-2025-mou", "legal").json()["agreement"]
    document["title"] = "Amended while the connection broke"
    proxy.cut_after_next_commit()
    back_soon(proxy)
    answer = api.put(
        "/v1/agreements/irs-ice-2025-mou", "legal", json=document, headers={"If-Match": '"1"'}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"2"'
    assert api.registry.stored("irs-ice-2025-mou").current_version == 2


def test_a_commit_the_database_cannot_account_for_is_504_and_found_again_by_its_key(
    db_url: str, through_proxy: tuple[Api, Proxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, proxy = through_proxy
    monkeypatch.setattr(database, "COMMIT_OUTCOME_SECONDS", 0.3)
    body = request(records=[record(2)])
    key = {"Idempotency-Key": "export-0002"}
    proxy.cut_after_next_commit()  # and the database stays away past the question
    answer = api.post("/v1/checks", "system", json=body, headers=key)
    assert answer.status_code == 504, answer.text
    assert "may have been recorded" in answer.json()["detail"]
    proxy.restore()
    again = api.post("/v1/checks", "system", json=body, headers=key)
    assert again.status_code == 200, again.text
    assert logged(db_url)[1:] == [again.json()["decision_id"]]  # the first one, not a second
