"""An amendment is in force for every check sent after it was answered, whichever worker
process decides the check: ``registry serve`` with two workers on one database, each
with the agreements cached, checks going on all the while.

No worker waits for its cache to expire: every recorded check reads the catalog's
revision counter in its own transaction, under the decision log's lock, and reads the
agreements again when the counter has moved (registry/checking.py, ``Checking.catalog``).
An amendment moves the counter in the transaction that stores the new version, so once its
200 is sent, the next check anywhere sees it: the bound is zero. A check sent before
that answer may still be decided under the old version; the test counts those apart."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from registry.service import Registry
from tests.api.conftest import issue_tokens
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS
from tests.servers import free_port, start_serve, stop_serve, worker_of

ICE = "irs-ice-2025-mou"
FIELDS = ["taxpayer.name", "taxpayer.address", "taxpayer.tin"]  # v2 no longer permits the TIN
ROUNDS_AFTER = 12  # checks each client sends once the amendment is answered


@dataclass
class Answer:
    worker: int
    sent: float  # time.monotonic()
    received: float
    allowed: bool
    version: int
    codes: tuple[str, ...]


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    with Registry.open(db_url) as registry:
        registry.load([AGREEMENTS])
        tokens = issue_tokens(registry)
    port = free_port()
    server = start_serve(db_url, port, workers=2)
    try:
        yield f"http://127.0.0.1:{port}", tokens, server
    finally:
        stop_serve(server)


def pinned_clients(
    url: str, server: subprocess.Popen[bytes], token: str
) -> dict[int, httpx.Client]:
    """One keep-alive client per worker: new connections until each worker holds one."""
    clients: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    for _ in range(40):
        client = httpx.Client(
            base_url=url, timeout=20, headers={"Authorization": f"Bearer {token}"}
        )
        worker = worker_of(server, client.get("/health"))
        if worker in clients:
            spare.append(client)
        else:
            clients[worker] = client
        if len(clients) == 2:
            break
    for client in spare:
        client.close()
    assert len(clients) == 2, "forty connections all went to one worker"
    return clients


def test_every_check_sent_after_an_amendment_is_decided_under_it_by_every_worker(
    served: tuple[str, dict[str, str], subprocess.Popen[bytes]],
) -> None:
    url, tokens, server = served
    clients = pinned_clients(url, server, tokens["system"])
    answers: list[Answer] = []
    lock = threading.Lock()
    amended_at: list[float] = []  # when the amendment's 200 came back
    failures: list[str] = []

    def check(client: httpx.Client, n: int) -> None:
        after = 0
        while after < ROUNDS_AFTER:
            body = request(fields=FIELDS, records=[record(n)])
            sent = time.monotonic()
            answer = client.post("/v1/checks", json=body)
            received = time.monotonic()
            if answer.status_code != 200:
                failures.append(answer.text)
                return
            decision = answer.json()
            with lock:
                answers.append(
                    Answer(
                        worker=worker_of(server, answer),
                        sent=sent,
                        received=received,
                        allowed=decision["allowed"],
                        version=decision["agreement_version"],
                        codes=tuple(r["code"] for r in decision["reasons"]),
                    )
                )
            if amended_at and sent > amended_at[0]:
                after += 1
            n += 2

    threads = [
        threading.Thread(target=check, args=(client, i), daemon=True)
        for i, client in enumerate(clients.values())
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while {a.worker for a in answers if a.version == 1} != set(clients):
            assert time.monotonic() < deadline, "the workers did not both decide under v1"
            time.sleep(0.01)
        legal = {"Authorization": f"Bearer {tokens['legal']}"}
        document = httpx.get(f"{url}/v1/agreements/{ICE}", headers=legal).json()["agreement"]
        document["fields"]["permitted"].remove("taxpayer.tin")
        amending = time.monotonic()
        amended = httpx.put(
            f"{url}/v1/agreements/{ICE}",
            json=document,
            headers={**legal, "If-Match": '"1"'},
            timeout=20,
        )
        amended_at.append(time.monotonic())
        assert amended.status_code == 200, amended.text
        assert amended.headers["etag"] == '"2"'
        for thread in threads:
            thread.join(30)
    finally:
        for client in clients.values():
            client.close()
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)

    before = [a for a in answers if a.received < amending]
    after = [a for a in answers if a.sent > amended_at[0]]
    in_flight = [a for a in answers if a not in before and a not in after]
    assert before and all(a.allowed and a.version == 1 for a in before)
    assert {a.worker for a in after} == set(clients), "a worker decided nothing after"
    stale = [a for a in after if a.version != 2]
    assert stale == [], f"{len(stale)} of {len(after)} checks sent after the amendment used v1"
    assert all(not a.allowed and "field_not_permitted" in a.codes for a in after)
    for a in in_flight:  # sent before the answer, decided either way, never half of each
        assert (a.version, a.allowed) in ((1, True), (2, False))
    print(
        f"\nchecks before {len(before)}, in flight {len(in_flight)} "
        f"({sum(a.version == 1 for a in in_flight)} under v1), after {len(after)} "
        f"(by worker: {sorted(sum(a.worker == w for a in after) for w in clients)}), "
        f"stale after the amendment's answer: {len(stale)}"
    )
