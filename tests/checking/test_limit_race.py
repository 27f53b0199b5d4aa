"""Parallel checks racing for the last records under a period limit never overshoot it."""

from __future__ import annotations

import multiprocessing

import pytest

from registry.service import Registry
from tests.checking.helpers import request

WORKERS = 4
CHECKS_EACH = 6
RECORDS = 700  # 24 checks x 700 = 16,800 asked for; the limit is 10,000 in 30 days


def _worker(url: str, start, results) -> None:  # type: ignore[no-untyped-def]
    try:
        registry = Registry.open(url)
        start.wait(timeout=30)
        outcomes = []
        for _ in range(CHECKS_EACH):
            d = registry.check(request(record_count=RECORDS, on="2025-06-15"))
            outcomes.append((d.allowed, [r.code for r in d.reasons]))
        registry.close()
        results.put(outcomes)
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_parallel_checks_never_exceed_the_period_limit(loaded: Registry, db_url: str) -> None:
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=_worker, args=(db_url, start, results)) for _ in range(WORKERS)
    ]
    for p in processes:
        p.start()
    start.set()
    collected = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    assert [c for c in collected if isinstance(c, str)] == []
    outcomes = [o for worker in collected for o in worker]
    allowed = [o for o in outcomes if o[0]]
    assert len(allowed) == 10_000 // RECORDS  # 14 fit; the 15th would make 10,500
    assert all(codes == ["period_record_limit_exceeded"] for ok, codes in outcomes if not ok)
    summary = loaded.disclosure_summary()
    assert summary == [] or summary[0].records <= 10_000
    assert (
        sum(d.record_count for d in loaded.decisions(allowed=True, limit=1000))
        == len(allowed) * RECORDS
    )
    assert loaded.verify().ok
