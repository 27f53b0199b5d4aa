"""Agreements expiring or due for review within a window, soonest first.

An agreement is *expiring* when its expiry date falls within the window, and *due for
review* when its review notice (``review_notice_days`` before expiry) has started, or
starts within the window, while expiry is further out. Suspended agreements are listed;
terminated ones (on the as-of date) and ones already expired are not. Dates come from the
current version, its expiry as extended by its checkers (a valid Privacy Act renewal);
the status is the one in force on the as-of date.

A review moves the start of the review period: a reviewed agreement is due for review
again from the next review date its reviewer set, not from the notice period (it is still
listed as expiring when it expires within the window).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from ..schemas import Agreement, ExpiringRow, Review
from ..schemas.types import AgreementStatus
from .limits import shifted


class Listed(Protocol):
    """What the expiring list needs of a stored agreement."""

    @property
    def id(self) -> str: ...

    @property
    def current_version(self) -> int: ...

    def current_agreement(self) -> Agreement: ...

    def status_on(self, on: datetime.date) -> AgreementStatus: ...


def expiring(
    agreements: Iterable[Listed],
    within_days: int,
    as_of: datetime.date,
    term: Callable[[Listed], tuple[datetime.date, tuple[str, ...]]] | None = None,
    reviews: Mapping[str, Review] | None = None,
) -> list[ExpiringRow]:
    """``term`` gives an agreement's last day in force (a lawful renewal extends
    ``expires``) and its checkers' review flags; by default ``expires`` and none.
    ``reviews`` holds each agreement's latest review held by the as-of date."""
    horizon = shifted(as_of, within_days)
    rows = []
    for stored in agreements:
        agreement = stored.current_agreement()
        status = stored.status_on(as_of)
        expires, flags = term(stored) if term else (agreement.expires, ())
        if status == "terminated" or expires < as_of:
            continue
        review = (reviews or {}).get(stored.id)
        review_from = (
            review.next_review
            if review is not None
            else shifted(expires, -agreement.review_notice_days)
        )
        if expires <= horizon:
            due = "expiring"
        elif review_from <= horizon:
            due = "review"
        else:
            continue
        rows.append(
            ExpiringRow(
                agreement=stored.id,
                title=agreement.title,
                status=status,
                due=due,  # type: ignore[arg-type]
                expires=expires,
                review_from=review_from,
                days_left=(expires - as_of).days,
                discloser=agreement.discloser,
                recipients=agreement.recipients,
                version=stored.current_version,
                flags=flags,
                last_review=review.reviewed_on if review is not None else None,
            )
        )
    return sorted(rows, key=lambda r: (r.expires, r.agreement))
