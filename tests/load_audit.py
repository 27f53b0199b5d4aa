"""What a :class:`tests.load.Load` was answered, compared with the decision log, the
disclosure accounting and the idempotency keys read straight from the database: the
figures of the fault tests and of ``benchmarks/reliability_load.py``."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import statistics
from typing import Any

import sqlalchemy as sa

from registry.service import Registry
from registry.store.tables import check_key, decision_log, disclosure
from tests.load import RECORDS_PER_CHECK, Attempt, Check, Limits, Load


@dataclasses.dataclass
class Figures:
    checks: int  # checks the clients wanted decided
    requests: int  # requests sent, retries included
    ok: int  # answered 200 (allowed or denied)
    unavailable: int  # answered 503 with Retry-After
    other: int  # any other answer: a bug
    no_answer: int  # no answer: connection refused or broken (a killed server), or a timeout
    allowed: int
    denied_at_limit: int  # denied with period_record_limit_exceeded
    faults: int
    survived: int  # faults after which a check sent later was answered 200, no restart
    recovery: list[float]  # seconds from the end of each fault to that answer
    gave_up: int  # checks never answered 200 within the retry bound
    lost: int  # decisions answered 200 but not in the log, or logged the other way
    unseen: int  # decisions in the log that no client was answered
    in_doubt_503: int  # decisions recorded by a request answered 503, found again by its key
    in_doubt_no_answer: int  # ... by a request that got no answer
    missing_disclosures: int  # allowed decisions without one entry per person
    overshoot: int  # records allowed beyond the limit in the fullest window
    log_ok: bool
    p50_ms: float
    p99_ms: float

    def report(self) -> str:
        recovery = f"max {max(self.recovery):.2f} s" if self.recovery else "-"
        return "\n".join(
            [
                f"checks wanted              {self.checks}",
                f"requests sent              {self.requests}",
                f"answered 200               {self.ok} ({self.allowed} allowed, "
                f"{self.ok - self.allowed} denied, {self.denied_at_limit} of them at the limit)",
                f"answered 503 + Retry-After {self.unavailable}",
                f"answered otherwise         {self.other}",
                f"no answer                  {self.no_answer}",
                f"faults injected            {self.faults}",
                f"faults survived            {self.survived} (recovery {recovery})",
                f"checks given up            {self.gave_up}",
                f"decisions lost             {self.lost}",
                f"logged, never answered     {self.unseen}",
                f"in doubt, found by key     {self.in_doubt_503} after a 503, "
                f"{self.in_doubt_no_answer} after no answer",
                f"missing disclosures        {self.missing_disclosures}",
                f"limit overshoot            {self.overshoot} records",
                f"log verifies               {self.log_ok}",
                f"latency of 200s            p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms",
            ]
        )


def audit(db_url: str, load: Load) -> Figures:
    """Compare what the clients were answered with the log, the disclosure accounting and
    the idempotency keys, read straight from ``db_url`` (not through any proxy)."""
    with Registry.open(db_url) as registry:
        log_ok = registry.verify().ok
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            logged = {
                row.decision_id: row
                for row in conn.execute(
                    sa.select(
                        decision_log.c.decision_id,
                        decision_log.c.seq,
                        decision_log.c.allowed,
                        decision_log.c.records_counted,
                        decision_log.c.on_date,
                    ).where(decision_log.c.kind == "decision")
                )
            }
            people: dict[int, int] = dict(
                conn.execute(
                    sa.select(disclosure.c.decision_seq, sa.func.count()).group_by(
                        disclosure.c.decision_seq
                    )
                ).all()
            )
            keys = dict(conn.execute(sa.select(check_key.c.decision_id, check_key.c.key)).all())
    finally:
        engine.dispose()

    attempts = [a for c in load.checks for a in c.attempts]
    answered = {c.decision["decision_id"]: c.decision for c in load.checks if c.decision}
    lost = sum(
        1
        for decision_id, decision in answered.items()
        if decision_id not in logged or logged[decision_id].allowed != decision["allowed"]
    )
    given_up = {c.key for c in load.checks if c.decision is None}
    unseen = [d for d in logged if d not in answered and keys.get(d) not in given_up]
    doubt = [_in_doubt(c) for c in load.checks if c.decision]
    expected_people = {True: RECORDS_PER_CHECK, False: 0}
    missing = sum(people.get(row.seq, 0) != expected_people[row.allowed] for row in logged.values())
    latencies = sorted(a.seconds * 1000 for a in attempts if a.status == 200)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    recovery = _recovery(load)
    return Figures(
        checks=len(load.checks),
        requests=len(attempts),
        ok=len(latencies),
        unavailable=sum(1 for a in attempts if a.status == 503 and a.retry_after),
        other=sum(1 for a in attempts if a.status not in (200, None) and not _retryable(a)),
        no_answer=sum(1 for a in attempts if a.status is None),
        allowed=sum(1 for d in answered.values() if d["allowed"]),
        denied_at_limit=sum(
            1
            for d in answered.values()
            if any(r["code"] == "period_record_limit_exceeded" for r in d["reasons"])
        ),
        faults=len(load.faults),
        survived=len(recovery),
        recovery=recovery,
        gave_up=len(given_up),
        lost=lost,
        unseen=len(unseen),
        in_doubt_503=doubt.count("503"),
        in_doubt_no_answer=doubt.count("no answer"),
        missing_disclosures=missing,
        overshoot=_overshoot(logged.values(), load.limits),
        log_ok=log_ok,
        p50_ms=cuts[49],
        p99_ms=cuts[98],
    )


def _retryable(attempt: Attempt) -> bool:
    return attempt.status == 503 and attempt.retry_after is not None


def _in_doubt(check: Check) -> str:
    """How the attempt that recorded the check's decision was answered when it was not
    the one answered 200: "503" or "no answer" (a decision committed whose answer was
    lost); "" when the 200 was its own. A decision is made after its request is sent:
    one made before an attempt that failed ended was made by that attempt or an earlier one."""
    assert check.decision is not None
    decided = datetime.datetime.fromisoformat(check.decision["checked_at"])
    for attempt in check.attempts:
        if attempt.status != 200 and attempt.ended_at > decided:
            return "no answer" if attempt.status is None else str(attempt.status)
    return ""


def _recovery(load: Load) -> list[float]:
    """For each fault, seconds from its end to the first 200 answer to a check sent after
    it and before the next fault began; faults with no such answer are left out."""
    out = []
    oks = [
        (a.ended - a.seconds, a.ended) for c in load.checks for a in c.attempts if a.status == 200
    ]
    for fault, following in itertools.zip_longest(load.faults, load.faults[1:]):
        until = following.began if following else float("inf")
        ends = [end for sent, end in oks if fault.over <= sent < until]
        if ends:
            out.append(min(ends) - fault.over)
    return out


def _overshoot(rows: Any, limits: Limits) -> int:
    """Records allowed beyond the limit in the fullest window of ``period_days`` days."""
    by_day: dict[datetime.date, int] = {}
    for row in rows:
        if row.allowed:
            by_day[row.on_date] = by_day.get(row.on_date, 0) + row.records_counted
    if not by_day:
        return 0
    span = datetime.timedelta(days=limits.period_days - 1)
    fullest = max(sum(n for day, n in by_day.items() if end - span <= day <= end) for end in by_day)
    return max(0, fullest - limits.max_records_per_period)
