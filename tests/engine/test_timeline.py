"""Which version and which status are in force on a date."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import msgspec
import pytest

from registry.engine.timeline import ever_terminated, status_on, version_in_force
from registry.schemas import Agreement, StatusEvent
from tests.conftest import agreement_data

D = datetime.date


def make(**changes: Any) -> Agreement:
    return msgspec.convert(agreement_data(**changes), Agreement)


@dataclasses.dataclass(frozen=True)
class Version:
    version: int
    agreement: Agreement


def event(on: str, status: str) -> StatusEvent:
    return StatusEvent(
        agreement="test-mou",
        on=D.fromisoformat(on),
        status=status,  # type: ignore[arg-type]
        reason="recorded through the API",
        recorded_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        recorded_by="legal",
    )


def changes(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"on": on, "status": status, "reason": "file"} for on, status in pairs]


# --- version_in_force ----------------------------------------------------------------------


@pytest.fixture
def amended() -> list[Version]:
    """v1 from 2025-01-01, v2 from 2025-06-01, v3 from 2025-09-01."""
    return [
        Version(1, make(title="v1")),
        Version(2, make(title="v2", version_effective="2025-06-01")),
        Version(3, make(title="v3", version_effective="2025-09-01")),
    ]


def test_the_first_version_is_in_force_before_later_versions_take_force(
    amended: list[Version],
) -> None:
    assert version_in_force(amended, D(2025, 5, 31)).version == 1


def test_a_version_is_in_force_on_its_version_effective_day(amended: list[Version]) -> None:
    assert version_in_force(amended, D(2025, 6, 1)).version == 2
    assert version_in_force(amended, D(2025, 8, 31)).version == 2


def test_the_latest_version_in_force_wins(amended: list[Version]) -> None:
    assert version_in_force(amended, D(2025, 9, 1)).version == 3
    assert version_in_force(amended, D(2030, 1, 1)).version == 3


def test_before_any_version_takes_force_the_first_version_is_used(
    amended: list[Version],
) -> None:
    assert version_in_force(amended, D(2024, 12, 31)).version == 1


def test_before_the_first_version_takes_force_the_first_is_used_even_if_later_ones_start_later(
) -> None:
    versions = [
        Version(1, make(effective="2025-03-01")),
        Version(2, make(effective="2025-03-01", version_effective="2025-04-01")),
    ]
    assert version_in_force(versions, D(2025, 1, 1)).version == 1


def test_an_amendment_without_version_effective_replaces_earlier_versions_retroactively(
    amended: list[Version],
) -> None:
    versions = [*amended, Version(4, make(title="v4"))]
    for day in (D(2025, 1, 1), D(2025, 7, 1), D(2025, 10, 1)):
        assert version_in_force(versions, day).version == 4


def test_the_latest_numbered_version_wins_over_one_with_a_later_version_effective() -> None:
    versions = [
        Version(1, make()),
        Version(2, make(version_effective="2025-09-01")),
        Version(3, make(version_effective="2025-06-01")),
    ]
    assert version_in_force(versions, D(2025, 7, 1)).version == 3
    assert version_in_force(versions, D(2025, 10, 1)).version == 3
    assert version_in_force(versions, D(2025, 5, 1)).version == 1


def test_version_in_force_needs_at_least_one_version() -> None:
    with pytest.raises(ValueError, match="at least one version"):
        version_in_force([], D(2025, 1, 1))


# --- status_on -------------------------------------------------------------------------------


def test_the_base_status_applies_without_changes() -> None:
    assert status_on(make(status="draft"), [], D(2025, 6, 1)) == "draft"
    assert status_on(make(), [], D(2025, 6, 1)) == "active"


def test_a_file_status_change_applies_from_its_day() -> None:
    agreement = make(status_changes=changes(("2025-06-01", "suspended")))
    assert status_on(agreement, [], D(2025, 5, 31)) == "active"
    assert status_on(agreement, [], D(2025, 6, 1)) == "suspended"
    assert status_on(agreement, [], D(2025, 12, 1)) == "suspended"


def test_file_status_changes_apply_in_date_order_whatever_their_listed_order() -> None:
    agreement = make(
        status_changes=changes(("2025-09-01", "active"), ("2025-06-01", "suspended"))
    )
    assert status_on(agreement, [], D(2025, 7, 1)) == "suspended"
    assert status_on(agreement, [], D(2025, 9, 1)) == "active"


def test_a_recorded_event_applies_from_its_day() -> None:
    events = [event("2025-03-01", "suspended")]
    assert status_on(make(), events, D(2025, 2, 28)) == "active"
    assert status_on(make(), events, D(2025, 3, 1)) == "suspended"


def test_file_changes_and_events_interleave_by_date() -> None:
    agreement = make(status_changes=changes(("2025-03-01", "suspended")))
    events = [event("2025-04-01", "active"), event("2025-05-01", "terminated")]
    assert status_on(agreement, events, D(2025, 3, 15)) == "suspended"
    assert status_on(agreement, events, D(2025, 4, 15)) == "active"
    assert status_on(agreement, events, D(2025, 5, 1)) == "terminated"


def test_on_the_same_day_an_event_applies_after_the_file_change() -> None:
    agreement = make(status_changes=changes(("2025-06-01", "suspended")))
    events = [event("2025-06-01", "active")]
    assert status_on(agreement, events, D(2025, 6, 1)) == "active"


def test_on_the_same_day_a_terminating_event_wins_over_a_file_reactivation() -> None:
    agreement = make(
        status_changes=changes(("2025-03-01", "suspended"), ("2025-06-01", "active"))
    )
    events = [event("2025-06-01", "terminated")]
    assert status_on(agreement, events, D(2025, 6, 1)) == "terminated"


def test_events_in_the_future_do_not_apply_yet() -> None:
    events = [event("2026-01-01", "terminated")]
    assert status_on(make(), events, D(2025, 12, 31)) == "active"


# --- ever_terminated ---------------------------------------------------------------------------


def test_an_agreement_without_termination_was_never_terminated() -> None:
    agreement = make(status_changes=changes(("2025-06-01", "suspended")))
    assert not ever_terminated(agreement, [event("2025-07-01", "active")])


def test_a_termination_in_the_file_counts_whatever_its_date() -> None:
    agreement = make(status_changes=changes(("2026-06-01", "terminated")))
    assert ever_terminated(agreement, [])


def test_a_recorded_termination_event_counts_whatever_its_date() -> None:
    assert ever_terminated(make(), [event("2030-01-01", "terminated")])
