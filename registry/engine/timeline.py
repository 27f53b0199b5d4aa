"""Which version and which status are in force on a date.

A check on date D uses the latest version whose ``version_effective`` is on or before D;
before the first version takes force, the first version (which then denies as not yet
effective). The status on D starts from the version's ``status`` (as of ``effective``),
then every dated change on or before D applies in date order: the version's own
``status_changes`` first, then events recorded through the CLI or API on the same day.
Termination is final: changes dated after it do not apply.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Protocol, TypeVar

from ..schemas import Agreement, StatusEvent
from ..schemas.types import AgreementStatus


class Versioned(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def agreement(self) -> Agreement: ...


V = TypeVar("V", bound=Versioned)


def version_in_force(versions: Sequence[V], on: datetime.date) -> V:
    """The version in force on ``on``: the latest (highest-numbered) one whose
    ``version_effective`` is on or before ``on``, else the first. ``versions`` is in
    version order and not empty."""
    if not versions:
        raise ValueError("an agreement has at least one version")
    in_force = [v for v in versions if v.agreement.in_force_from <= on]
    return in_force[-1] if in_force else versions[0]


def status_on(
    agreement: Agreement, events: Sequence[StatusEvent], on: datetime.date
) -> AgreementStatus:
    """The status of ``agreement`` on ``on``, given events recorded outside its file."""
    status: AgreementStatus = agreement.status
    changes: list[tuple[datetime.date, int, AgreementStatus]] = [
        (change.on, 0, change.status) for change in agreement.status_changes
    ]
    changes.extend((event.on, 1, event.status) for event in events)
    for day, _, new_status in sorted(changes, key=lambda c: (c[0], c[1])):
        if day > on or status == "terminated":
            break  # termination is final, whatever was recorded for later days
        status = new_status
    return status


def ever_terminated(agreement: Agreement, events: Sequence[StatusEvent]) -> bool:
    """True once a termination is on record, whatever its date: termination is final."""
    return (
        agreement.status == "terminated"
        or any(c.status == "terminated" for c in agreement.status_changes)
        or any(e.status == "terminated" for e in events)
    )
