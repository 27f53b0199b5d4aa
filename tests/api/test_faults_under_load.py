"""The database going away again and again under load: ``registry serve`` with two workers
on PostgreSQL, reached through a proxy that cuts every connection three times while six
clients check transfers near the period limit. Every answer is a decision or a 503 with
Retry-After, nothing hangs, and the service recovers by itself after each cut.

Then, read from the database itself: the log verifies; every decision answered 200 is
logged, the same way; every allowed one has one disclosure entry per person; no window of
the period holds more records than the limit; and the log holds no decision that no client
was answered. The clients send each check again under its Idempotency-Key until it is
answered 200 (as ``registry.client`` does), so a decision committed for an attempt whose
answer was lost comes back on the retry; and none was recorded for an attempt answered
503, which promises that nothing was (a commit whose answer was lost is looked up first:
``test_commit_in_doubt.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.faults import Proxy
from tests.load import Limits, Load, prepare
from tests.load_audit import audit
from tests.servers import free_port, start_serve, stop_serve

POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]
CUTS = 3
DOWN = 0.8  # seconds each cut lasts
UP = 1.2  # seconds between cuts
MAX_CHECKS = 3_000  # a bound, in case the machine is fast


@pytest.mark.slow
@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_cuts_under_load_lose_nothing_and_overshoot_nothing(db_url: str, tmp_path: Path) -> None:
    token = prepare(db_url, tmp_path / "agreements", Limits())
    proxy, through_proxy = Proxy.before(db_url)
    port = free_port()
    server = start_serve(through_proxy, port, workers=2)
    load = Load(f"http://127.0.0.1:{port}", token, clients=6, max_checks=MAX_CHECKS)

    def cuts() -> None:
        load.wait_for_answers(40)  # under way before the first cut
        for _ in range(CUTS):
            with load.fault("database cut"):
                proxy.cut()
                time.sleep(DOWN)
                proxy.restore()
            time.sleep(UP)

    try:
        load.run(cuts)
    finally:
        stop_serve(server)
        proxy.close()
    figures = audit(db_url, load)
    print(f"\n{figures.report()}")

    assert figures.faults == CUTS
    assert figures.unavailable > 0, "no request met a cut: the faults missed the load"
    assert figures.other == 0, "an answer other than 200 or 503 with Retry-After"
    assert figures.no_answer == 0, "a request went unanswered (a hang or a dropped connection)"
    assert figures.survived == CUTS, "the service did not answer again after a cut"
    assert figures.gave_up == 0, "a check was never answered 200 within its retry bound"
    assert figures.log_ok
    assert figures.lost == 0
    assert figures.unseen == 0, "a decision in the log that no client was answered"
    assert figures.in_doubt_503 == 0, "a request answered 503 had its decision recorded"
    assert figures.missing_disclosures == 0
    assert figures.denied_at_limit > 0, "the limit was never reached: no overshoot could show"
    assert figures.overshoot == 0
