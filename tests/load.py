"""A load of checks for the fault tests and the reliability benchmark, which retries as
data systems do (the same ``Idempotency-Key`` after a 503 or no answer)::

    load = Load(url, token, clients=6)
    load.run(inject)   # inject() cuts the proxy, kills the server...: ``with load.fault(...)``
    figures = tests.load_audit.audit(db_url, load)

Its checks are the typical transfer of ``examples/check-ice.json`` with three records
(three people) each, dated so that every two-day window asks for more records than the
agreement allows: the period limit is reached all the time, so an overshoot would show.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import json
import random
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from registry.access import Tokens
from registry.service import Registry
from tests.conftest import AGREEMENTS, ROOT

AGREEMENT = "irs-ice-2025-mou"
TRANSFER: dict[str, Any] = json.loads((ROOT / "examples" / "check-ice.json").read_text())
RECORDS_PER_CHECK = 3


# --- the agreement under load ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Limits:
    """The period limit of the agreement under load, and how many checks are dated each
    day (so a window of ``period_days`` asks for more than it holds)."""

    max_records_per_period: int = 45  # 15 checks of 3 records in any two days
    period_days: int = 2
    checks_per_day: int = 10  # 20 checks, 60 records asked for in every two days
    first_day: datetime.date = datetime.date(2025, 6, 1)


def prepare(db_url: str, folder: Path, limits: Limits) -> str:
    """Load the parties and the IRS-ICE memorandum with ``limits`` (and a term long
    enough for every check date) into ``db_url``; a system token for its source system."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parties.toml").write_bytes((AGREEMENTS / "parties.toml").read_bytes())
    data = tomllib.loads((AGREEMENTS / f"{AGREEMENT}.toml").read_text())
    data["expires"] = datetime.date(2039, 12, 31)
    data["limits"]["max_records_per_period"] = limits.max_records_per_period
    data["limits"]["period_days"] = limits.period_days
    (folder / f"{AGREEMENT}.toml").write_text(tomli_w.dumps(data))
    with Registry.open(db_url) as registry:
        registry.load([folder])
        return (
            Tokens(registry.db)
            .create("system", name="load", by="tests", system=TRANSFER["source_system"])
            .token
        )


# --- the load -------------------------------------------------------------------------------


@dataclasses.dataclass
class Attempt:
    status: int | None  # None: no answer (the connection failed or timed out)
    seconds: float
    ended: float  # time.monotonic()
    ended_at: datetime.datetime  # wall clock, to compare with a decision's checked_at
    retry_after: str | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class Fault:
    what: str
    began: float  # time.monotonic()
    over: float


@dataclasses.dataclass
class Check:
    """One check a client wanted decided, and every attempt it made under its key."""

    key: str
    on: datetime.date
    started: float
    attempts: list[Attempt] = dataclasses.field(default_factory=list)
    decision: dict[str, Any] | None = None  # the 200 answer's decision


class Load:
    """``clients`` threads checking against ``url`` until told to stop (or ``max_checks``
    are made). Each check is sent with an Idempotency-Key and sent again under it after a
    503 (waiting for Retry-After) or no answer, until it is answered 200 or ``retry_for``
    seconds have passed; any other answer is kept and not retried."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        limits: Limits = Limits(),
        clients: int = 6,
        max_checks: int = 5_000,
        timeout: float = 10.0,
        retry_for: float = 30.0,
    ) -> None:
        self.url = f"{url}/v1/checks"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.limits = limits
        self.clients = clients
        self.max_checks = max_checks
        self.timeout = timeout
        self.retry_for = retry_for
        self.checks: list[Check] = []
        self.faults: list[Fault] = []
        self.stop = threading.Event()
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    # --- driving it

    def run(
        self, inject: Callable[[], None], *, tail: float = 1.0, recover_within: float = 20.0
    ) -> None:
        """Run the clients while ``inject`` makes its faults (calling :meth:`fault` after
        each); then wait until a check sent after the last one is answered 200, let the
        load go on for ``tail`` seconds, and stop."""
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        try:
            inject()
            if self.faults:
                self.wait_for_answer_after(self.faults[-1].over, recover_within)
            time.sleep(tail)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(self.retry_for + self.timeout + 5)
        if any(thread.is_alive() for thread in threads):
            raise AssertionError("a client hung past its retry bound")

    @contextlib.contextmanager
    def fault(self, what: str) -> Iterator[None]:
        """Around a fault: from taking something away to giving it back (the database
        restored, the server started again)."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.faults.append(Fault(what, began, time.monotonic()))

    def answered(self) -> int:
        with self._lock:
            return sum(1 for c in self.checks if c.decision is not None)

    def wait_for_answers(self, count: int, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while self.answered() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} checks answered in {within} s")
            time.sleep(0.02)

    def wait_for_answer_after(self, moment: float, within: float) -> float:
        """Seconds from ``moment`` until a check sent after it was answered 200."""
        deadline = moment + within
        while time.monotonic() < deadline:
            with self._lock:
                ends = [
                    a.ended
                    for c in self.checks
                    for a in c.attempts
                    if a.status == 200 and a.ended - a.seconds >= moment
                ]
            if ends:
                return min(ends) - moment
            time.sleep(0.02)
        raise AssertionError(f"no check sent after a fault was answered 200 within {within} s")

    # --- a client

    def _client(self) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            while not self.stop.is_set():
                number = next(self._numbers)
                if number >= self.max_checks:
                    return
                self._check(http, number)

    def _body(self, number: int) -> tuple[datetime.date, bytes]:
        day = self.limits.first_day + datetime.timedelta(days=number // self.limits.checks_per_day)
        first = number * RECORDS_PER_CHECK
        records = [_record(first + i) for i in range(RECORDS_PER_CHECK)]
        body = {**TRANSFER, "on": day.isoformat(), "records": records}
        return day, json.dumps(body).encode()

    def _check(self, http: httpx.Client, number: int) -> None:
        on, body = self._body(number)
        check = Check(key=str(uuid.uuid4()), on=on, started=time.monotonic())
        with self._lock:
            self.checks.append(check)
        headers = {**self.headers, "Idempotency-Key": check.key}
        give_up = check.started + self.retry_for
        while True:
            began = time.monotonic()
            try:
                answer = http.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                attempt = _attempt(None, began, error=type(exc).__name__)
                wait = 0.2  # the server is away (killed, say): the same key makes it safe
            else:
                attempt = _attempt(answer.status_code, began, answer.headers.get("retry-after"))
                if answer.status_code == 200:
                    decision = answer.json()
                    with self._lock:
                        check.attempts.append(attempt)
                        check.decision = decision
                    return
                if answer.status_code != 503 or attempt.retry_after is None:
                    attempt.error = answer.text[:300]
                    with self._lock:
                        check.attempts.append(attempt)
                    return
                wait = float(attempt.retry_after) * random.uniform(0.5, 1.0)
            with self._lock:
                check.attempts.append(attempt)
            if time.monotonic() + wait > give_up:
                return
            time.sleep(wait)


def _attempt(
    status: int | None, began: float, retry_after: str | None = None, error: str | None = None
) -> Attempt:
    ended = time.monotonic()
    return Attempt(
        status=status,
        seconds=ended - began,
        ended=ended,
        ended_at=datetime.datetime.now(datetime.UTC),
        retry_after=retry_after,
        error=error,
    )


def _record(i: int) -> dict[str, Any]:
    return {
        "taxpayer": {
            "name": f"Load Person {i}",
            "tin": f"9{i:08d}",
            "address": {
                "street": f"{i % 900 + 1} Cedar Lane",
                "city": "Silver Spring",
                "state": "MD",
                "zip": "20901",
            },
        },
        "taxable_periods": [2023],
    }
