"""Group commit: checks queued together are decided in turn, committed at once, and give
the decisions they would have given one by one; limits stay exact."""

from __future__ import annotations

import concurrent.futures
import datetime
import re
import threading
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from registry.checking import decode_request
from registry.errors import CommitInDoubt, DatabaseUnavailable
from registry.groupcommit import GroupCommit, decide_all
from registry.schemas import CheckRequest, Decision
from registry.service import Registry
from tests.checking.helpers import record, request

RECORDS = 700  # the limit is 10,000 records in 30 days: 14 of these fit, the 15th does not


def _strip(d: Decision) -> tuple[object, ...]:
    return (d.allowed, d.agreement, d.agreement_version, tuple(r.code for r in d.reasons))


def test_a_batch_decides_as_one_by_one_would(loaded: Registry, db_url: str) -> None:
    asks = [
        request(records=[record(1), record(2)]),
        request(fields=["taxpayer.name", "return.wages"], records=[record(3)]),
        request(records=[record(4, taxpayer={"name": "X", "tin": "1", "address": {"zip": "1"}})]),
        request(agreement=None, records=[record(5)]),
        request(agreement="no-such-agreement"),
        request(on="2030-01-01", records=[record(6)]),
    ]
    batch = loaded.checking.check_batch([decode_request(a) for a in asks])
    alone = [loaded.check(a) for a in asks]
    assert [_strip(d) for d in batch] == [_strip(d) for d in alone]
    assert [d.allowed for d in batch] == [True, False, False, True, False, False]
    assert all(d.receipt for d in batch if d.allowed)
    assert all(d.receipt is None for d in batch if not d.allowed)
    assert loaded.verify().ok
    assert loaded.verify().entries == 2 * len(asks)


def test_a_batch_stores_the_rows_that_one_by_one_checks_store(loaded: Registry) -> None:
    """The batch writes its log and disclosure rows through the driver, not SQLAlchemy's
    compiler: the stored values (dates, times, flags, people) must be the same."""
    asks = [request(records=[record(1), record(2)]), request(purpose="curiosity")]
    loaded.checking.check_batch([decode_request(a) for a in asks])
    loaded.checking.check_batch([decode_request(request(purpose="curiosity"))])  # none allowed
    for a in asks:
        loaded.check(a)
    with loaded.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM decision_log ORDER BY seq")).mappings().all()
        people = conn.execute(
            sa.text("SELECT decision_seq, ordinal, subject FROM disclosure ORDER BY 1, 2")
        ).all()
    varying = {"seq", "decision_id", "recorded_at", "body", "prev_hash", "hash"}
    batch, one_by_one = rows[:3], rows[3:]
    assert [{k: v for k, v in r.items() if k not in varying} for r in batch[:2]] == [
        {k: v for k, v in r.items() if k not in varying} for r in one_by_one
    ]
    assert [type(r["recorded_at"]) for r in rows] == [type(one_by_one[0]["recorded_at"])] * 5
    assert [r["recorded_at"] for r in rows] == sorted(r["recorded_at"] for r in rows)
    # SQLite keeps times as text: the batch's must have the one-by-one rows' shape.
    shapes = {re.sub(r"\d", "9", str(r["recorded_at"])) for r in rows if r["recorded_at"]}
    assert len(shapes) == 1, shapes
    by_seq = {seq: [] for seq in (rows[0]["seq"], rows[3]["seq"])}
    for seq, ordinal, subject in people:
        by_seq[seq].append((ordinal, bytes(subject)))
    assert by_seq[rows[0]["seq"]] == by_seq[rows[3]["seq"]]
    assert [ordinal for ordinal, _ in by_seq[rows[0]["seq"]]] == [0, 1]
    assert loaded.verify().ok


def test_a_batch_whose_checks_name_no_agreement_is_stored(loaded: Registry) -> None:
    # Every value of a column empty: PostgreSQL gets the column as an array of nulls.
    alone = decode_request(request(agreement=None, recipient="nobody-at-all"))
    (decided,) = loaded.checking.check_batch([alone])
    assert (decided.allowed, decided.agreement, decided.agreement_version) == (False, None, None)
    assert [d.decision_id for d in loaded.decisions()] == [decided.decision_id]
    assert loaded.verify().ok


def test_checks_in_one_batch_share_the_period_limit(loaded: Registry) -> None:
    asks = [decode_request(request(record_count=RECORDS, on="2025-06-15")) for _ in range(16)]
    decided = loaded.checking.check_batch(asks)
    assert [d.allowed for d in decided] == [True] * 14 + [False] * 2
    assert {r.code for d in decided[14:] for r in d.reasons} == {"period_record_limit_exceeded"}
    # The next batch sees what the first one logged.
    again = loaded.checking.check_batch(asks[:1])
    assert not again[0].allowed


def test_a_batch_counts_only_allowed_checks_inside_each_window(loaded: Registry) -> None:
    # 10,000 records on 2025-06-01 fill that window; 31 days later the window is empty again.
    full = decode_request(request(record_count=2_500, on="2025-06-01"))
    later = decode_request(request(record_count=2_500, on="2025-07-02"))
    decided = loaded.checking.check_batch([full] * 4 + [full, later])
    assert [d.allowed for d in decided] == [True, True, True, True, False, True]


@pytest.mark.parametrize(
    "error",
    [
        sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused")),
        DatabaseUnavailable("the database does not answer"),
        CommitInDoubt("the commit may have gone through"),
    ],
    ids=["driver-unavailable", "unavailable", "in-doubt"],
)
def test_a_batch_the_database_failed_is_not_decided_again_one_by_one(error: Exception) -> None:
    # One by one, each would wait for an unreachable database again, or record twice
    # what an in-doubt commit may have recorded.
    calls: list[int] = []

    def failing(requests: Sequence[CheckRequest], keys: Sequence[object]) -> list[Decision]:
        calls.append(len(requests))
        raise error

    checks = [(decode_request(request()), None) for _ in range(5)]
    assert decide_all(failing, checks) == [error] * 5
    assert calls == [5]


def test_a_failing_batch_is_decided_again_check_by_check(loaded: Registry) -> None:
    calls: list[int] = []
    entered, go = threading.Event(), threading.Event()

    def flaky(requests: Sequence[CheckRequest], keys: Sequence[object]) -> list[Decision]:
        calls.append(len(requests))
        if requests[0].purpose == "slow":  # holds the writer while the others queue up
            entered.set()
            assert go.wait(30)
        if len(requests) > 1:
            raise RuntimeError("one of them broke the batch")
        if requests[0].purpose == "boom":
            raise ValueError("this one is bad")
        return loaded.checking.check_batch(requests)

    writer = GroupCommit(flaky)
    try:
        good = decode_request(request(records=[record(1)]))
        bad = decode_request(request(purpose="boom"))
        # Submit while the writer is busy so that they are taken as one batch.
        slow = writer.submit(decode_request(request(purpose="slow", records=[record(9)])))
        assert entered.wait(30)
        futures = [writer.submit(r) for r in (good, bad, good)]
        go.set()
        assert slow.result(timeout=30).allowed is False  # an unknown purpose
        results = []
        for future in futures:
            try:
                results.append(future.result(timeout=30).allowed)
            except ValueError as exc:
                results.append(str(exc))
    finally:
        writer.close()
    assert results == [True, "this one is bad", True]
    assert calls == [1, 3, 1, 1, 1]
    assert loaded.verify().ok


def test_parallel_callers_through_the_writer_never_exceed_the_limit(
    loaded: Registry,
) -> None:
    def ask(_: int) -> Decision:
        return loaded.submit_check(request(record_count=RECORDS, on="2025-06-15")).result(60)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        decided = list(pool.map(ask, range(40)))
    allowed = [d for d in decided if d.allowed]
    assert len(allowed) == 14
    assert sum(d.record_count for d in loaded.decisions(allowed=True, limit=100)) == 14 * RECORDS
    assert loaded.verify().ok
    assert loaded._writer is not None and loaded._writer.decided == 40


def test_closing_the_registry_finishes_queued_checks(db_url: str) -> None:
    from tests.conftest import AGREEMENTS

    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    futures = [registry.submit_check(request(records=[record(i)])) for i in range(20)]
    registry.close()
    assert all(f.result(timeout=1).allowed for f in futures)
    with pytest.raises(RuntimeError):
        registry.submit_check(request())


def test_a_decision_is_answered_only_after_it_is_committed(loaded: Registry) -> None:
    seen: list[int] = []

    def decide_and_count(
        requests: Sequence[CheckRequest], keys: Sequence[object]
    ) -> list[Decision]:
        decided = loaded.checking.check_batch(requests)
        seen.append(len(loaded.decisions(limit=1000)))  # read on another connection
        return decided

    writer = GroupCommit(decide_and_count)
    try:
        decision = writer.check(decode_request(request(records=[record(1)])))
    finally:
        writer.close()
    assert seen == [1]
    assert loaded.decision(decision.decision_id).allowed
    assert datetime.date(2025, 6, 1) == decision.on


def test_a_full_queue_refuses_new_checks_at_once(loaded: Registry) -> None:
    from registry.errors import Overloaded

    entered, go = threading.Event(), threading.Event()

    def slow(requests: Sequence[CheckRequest], keys: Sequence[object]) -> list[Decision]:
        entered.set()
        assert go.wait(30)
        return loaded.checking.check_batch(requests)

    writer = GroupCommit(slow, max_waiting=2)
    try:
        first = writer.submit(decode_request(request(records=[record(1)])))
        assert entered.wait(30)  # the writer holds the first; two more may wait
        waiting = [writer.submit(decode_request(request(records=[record(i)]))) for i in (2, 3)]
        with pytest.raises(Overloaded, match="2 checks are waiting"):
            writer.submit(decode_request(request(records=[record(4)])))
        go.set()
        assert all(f.result(timeout=30).allowed for f in [first, *waiting])
    finally:
        go.set()
        writer.close()
    assert loaded.verify().entries == 3
