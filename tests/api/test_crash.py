"""Crash durability: a server killed with SIGKILL in the middle of a load loses no decision
a client was given, overshoots no limit, and its log verifies after a restart."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from registry.service import Registry
from tests.api.conftest import issue_tokens
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS
from tests.servers import free_port, start_serve

RECORDS = 700  # 10,000 records in 30 days: at most 14 of these may ever be allowed


@pytest.fixture
def prepared(db_url: str) -> Iterator[tuple[str, str]]:
    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    token = issue_tokens(registry)["system"]
    registry.close()
    yield db_url, token


@pytest.mark.slow
def test_a_killed_server_loses_no_decision_it_answered(prepared: tuple[str, str]) -> None:
    db_url, token = prepared
    port = free_port()
    server = start_serve(db_url, port)
    url = f"http://127.0.0.1:{port}/v1/checks"
    headers = {"Authorization": f"Bearer {token}"}
    answered: list[dict[str, object]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = 0
            while not stop.is_set():
                i += 1
                body = (
                    request(record_count=RECORDS, on="2025-06-15")
                    if i % 3 == 0
                    else request(records=[record(n * 10_000 + i)], on="2025-06-16")
                )
                try:
                    answer = http.post(url, json=body, headers=headers)
                except httpx.TransportError:
                    return  # the server is gone
                if answer.status_code == 200:
                    with lock:
                        answered.append(answer.json())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(client, n) for n in range(8)]
        deadline = time.monotonic() + 30
        while len(answered) < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(server.pid, signal.SIGKILL)  # mid-load, no chance to flush anything
        server.wait(10)
        stop.set()
        for f in futures:
            f.result(timeout=30)
    assert len(answered) >= 60, "the load did not get going"

    restarted = start_serve(db_url, port)  # the service comes back on the same database
    try:
        registry = Registry.open(db_url)
        try:
            verification = registry.verify()
            assert verification.ok, verification.problem
            logged = {d.decision_id: d for d in registry.decisions(limit=10_000)}
            missing = [d["decision_id"] for d in answered if d["decision_id"] not in logged]
            assert missing == [], f"{len(missing)} answered decisions are not in the log"
            for d in answered:
                assert logged[str(d["decision_id"])].allowed == d["allowed"]
            window = [d for d in logged.values() if d.allowed and d.record_count == RECORDS]
            assert sum(d.record_count for d in logged.values() if d.allowed) <= 10_000
            assert len(window) <= 14
            # Every allowed decision with a record has its person accounted (each record is
            # a different person): no allowed decision lacks its disclosure entries.
            summary = {s.agreement: s for s in registry.disclosure_summary()}
            accounted = sum(1 for d in logged.values() if d.allowed and d.record_count == 1)
            assert summary["irs-ice-2025-mou"].people == accounted
            # And the restarted server decides again.
            again = httpx.post(
                url, json=request(records=[record(999_999)]), headers=headers, timeout=10
            )
            assert again.status_code == 200 and again.json()["decision_id"] not in logged
        finally:
            registry.close()
    finally:
        os.killpg(restarted.pid, signal.SIGKILL)
        restarted.wait(10)
