"""Agreements expiring or due for review within a window, soonest first."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import msgspec

from registry.engine import timeline
from registry.engine.expiring import Listed, expiring
from registry.schemas import Agreement, StatusEvent
from registry.schemas.types import AgreementStatus
from tests.conftest import agreement_data

D = datetime.date
AS_OF = D(2026, 1, 1)


class Stored:
    """A stored agreement as the expiring list sees it (the ``Listed`` protocol)."""

    def __init__(
        self, agreement: Agreement, events: Sequence[StatusEvent] = (), version: int = 1
    ) -> None:
        self._agreement = agreement
        self._events = events
        self._version = version

    @property
    def id(self) -> str:
        return self._agreement.id

    @property
    def current_version(self) -> int:
        return self._version

    def current_agreement(self) -> Agreement:
        return self._agreement

    def status_on(self, on: datetime.date) -> AgreementStatus:
        return timeline.status_on(self._agreement, self._events, on)


def stored(id: str, expires: datetime.date, **changes: Any) -> Listed:
    data = agreement_data(id=id, effective="2025-01-01", expires=expires.isoformat(), **changes)
    return Stored(msgspec.convert(data, Agreement))


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def ids(rows: list[Any]) -> list[str]:
    return [row.agreement for row in rows]


def test_an_agreement_expiring_within_the_window_is_listed_as_expiring() -> None:
    (row,) = expiring([stored("soon", AS_OF + days(10))], within_days=30, as_of=AS_OF)
    assert row.agreement == "soon"
    assert row.due == "expiring"
    assert row.days_left == 10
    assert row.expires == AS_OF + days(10)


def test_a_row_carries_title_status_parties_version_and_review_date() -> None:
    agreement = msgspec.convert(
        agreement_data(id="soon", expires=(AS_OF + days(10)).isoformat()), Agreement
    )
    (row,) = expiring([Stored(agreement, version=3)], within_days=30, as_of=AS_OF)
    assert row.title == "Test memorandum"
    assert row.status == "active"
    assert row.discloser == "irs"
    assert row.recipients == ("dhs-ice",)
    assert row.version == 3
    assert row.review_from == AS_OF + days(10) - days(90)


def test_an_agreement_whose_review_notice_has_started_is_listed_as_review_due() -> None:
    expires = AS_OF + days(60)
    (row,) = expiring([stored("review", expires)], within_days=30, as_of=AS_OF)
    assert row.due == "review"
    assert row.review_from == expires - days(90)
    assert row.days_left == 60


def test_an_agreement_whose_review_notice_starts_within_the_window_is_review_due() -> None:
    expires = AS_OF + days(100)  # review from AS_OF + 10
    (row,) = expiring([stored("review", expires)], within_days=30, as_of=AS_OF)
    assert row.due == "review"


def test_review_notice_starting_on_the_last_day_of_the_window_is_listed() -> None:
    expires = AS_OF + days(30 + 90)
    (row,) = expiring([stored("edge", expires)], within_days=30, as_of=AS_OF)
    assert row.due == "review"
    assert row.review_from == AS_OF + days(30)


def test_review_notice_starting_after_the_window_is_not_listed() -> None:
    expires = AS_OF + days(31 + 90)
    assert expiring([stored("later", expires)], within_days=30, as_of=AS_OF) == []


def test_expiry_on_the_last_day_of_the_window_is_listed_as_expiring() -> None:
    (row,) = expiring(
        [stored("edge", AS_OF + days(30), review_notice_days=0)], within_days=30, as_of=AS_OF
    )
    assert row.due == "expiring"
    assert row.days_left == 30


def test_expiry_the_day_after_the_window_is_not_listed_as_expiring() -> None:
    rows = expiring(
        [stored("edge", AS_OF + days(31), review_notice_days=0)], within_days=30, as_of=AS_OF
    )
    assert rows == []


def test_expiry_on_the_as_of_day_is_listed_with_zero_days_left() -> None:
    (row,) = expiring([stored("today", AS_OF)], within_days=30, as_of=AS_OF)
    assert row.due == "expiring"
    assert row.days_left == 0


def test_a_zero_day_window_lists_what_expires_that_day() -> None:
    (row,) = expiring([stored("today", AS_OF, review_notice_days=0)], within_days=0,
                      as_of=AS_OF)
    assert row.due == "expiring"


def test_an_already_expired_agreement_is_not_listed() -> None:
    assert expiring([stored("gone", AS_OF - days(1))], within_days=30, as_of=AS_OF) == []


def test_a_suspended_agreement_is_listed_with_its_status() -> None:
    agreement = stored(
        "paused", AS_OF + days(5),
        status_changes=[{"on": "2025-06-01", "status": "suspended"}],
    )
    (row,) = expiring([agreement], within_days=30, as_of=AS_OF)
    assert row.status == "suspended"


def test_a_terminated_agreement_is_not_listed() -> None:
    agreement = stored(
        "ended", AS_OF + days(5),
        status_changes=[{"on": "2025-06-01", "status": "terminated"}],
    )
    assert expiring([agreement], within_days=30, as_of=AS_OF) == []


def test_an_agreement_terminated_by_a_recorded_event_is_not_listed() -> None:
    agreement = msgspec.convert(
        agreement_data(id="ended", expires=(AS_OF + days(5)).isoformat()), Agreement
    )
    termination = StatusEvent(
        agreement="ended", on=AS_OF - days(1), status="terminated", reason="x",
        recorded_at=datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC), recorded_by="legal",
    )
    assert expiring([Stored(agreement, [termination])], within_days=30, as_of=AS_OF) == []


def test_an_agreement_terminated_only_after_the_as_of_date_is_still_listed() -> None:
    agreement = stored(
        "ending", AS_OF + days(20),
        status_changes=[{"on": (AS_OF + days(10)).isoformat(), "status": "terminated"}],
    )
    (row,) = expiring([agreement], within_days=30, as_of=AS_OF)
    assert row.status == "active"


def test_a_draft_agreement_is_listed() -> None:
    (row,) = expiring([stored("draft", AS_OF + days(5), status="draft")], within_days=30,
                      as_of=AS_OF)
    assert row.status == "draft"


def test_rows_are_sorted_soonest_first() -> None:
    agreements = [
        stored("c-late", AS_OF + days(25)),
        stored("a-review", AS_OF + days(80)),
        stored("b-soon", AS_OF + days(3)),
    ]
    rows = expiring(agreements, within_days=30, as_of=AS_OF)
    assert ids(rows) == ["b-soon", "c-late", "a-review"]


def test_agreements_expiring_the_same_day_are_sorted_by_id() -> None:
    agreements = [stored("zeta", AS_OF + days(3)), stored("alpha", AS_OF + days(3))]
    assert ids(expiring(agreements, within_days=30, as_of=AS_OF)) == ["alpha", "zeta"]


def test_nothing_to_list_gives_an_empty_list() -> None:
    assert expiring([], within_days=30, as_of=AS_OF) == []
