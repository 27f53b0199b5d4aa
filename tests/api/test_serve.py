"""``registry serve`` as users run it: a subprocess with worker processes sharing one
database, limits exact and the log whole across them."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from registry.service import Registry
from tests.api.conftest import issue_tokens
from tests.checking.helpers import request
from tests.conftest import AGREEMENTS
from tests.servers import free_port, start_serve, stop_serve

RECORDS = 700  # 10,000 records a 30-day period: 14 checks fit


@pytest.fixture
def served(db_url: str, tmp_path) -> Iterator[tuple[str, str, Registry]]:  # type: ignore[no-untyped-def]
    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    token = issue_tokens(registry)["system"]
    port = free_port()
    proc = start_serve(db_url, port, workers=2)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, token, registry
    finally:
        stop_serve(proc)
        registry.close()


@pytest.mark.slow
def test_two_workers_share_the_limit_and_the_log(served: tuple[str, str, Registry]) -> None:
    url, token, registry = served
    headers = {"Authorization": f"Bearer {token}"}

    def ask(_: int) -> httpx.Response:
        body = request(record_count=RECORDS, on="2025-06-15")
        return httpx.post(f"{url}/v1/checks", json=body, headers=headers, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, range(30)))
    assert {a.status_code for a in answers} == {200}
    decisions = [a.json() for a in answers]
    allowed = [d for d in decisions if d["allowed"]]
    assert len(allowed) == 14
    assert all(d.get("receipt") for d in allowed)
    logged = registry.decisions(limit=100)
    assert {d["decision_id"] for d in decisions} == {d.decision_id for d in logged}
    assert sum(d.record_count for d in logged if d.allowed) == 14 * RECORDS
    assert registry.verify().ok


def test_serve_refuses_to_start_on_an_unreachable_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "registry", "--database",
         "postgresql+psycopg://nobody@127.0.0.1:9/none", "serve", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "error:" in done.stderr
