"""Period limits: no window of ``period_days`` days may hold more allowed records than
``max_records_per_period``.

A check dated D is counted in every window that contains D: those ending on D, D+1, ...
D+period_days-1. Counting only the window ending on D would let a check dated earlier than
ones already allowed overfill the windows that hold both (10,000 records dated the 30th,
then 10,000 dated the 15th: the window of the 1st to the 30th would hold 20,000). The
usage a check is judged against is therefore the fullest of those windows.

Date arithmetic is clamped to the calendar (a check dated 0001-01-01 has windows that
would start before year 1): such a date is a denial with reasons, never a crash.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from ..schemas import Agreement


def shifted(day: datetime.date, days: int) -> datetime.date:
    """``day`` moved by ``days``, kept inside the calendar."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.max if days > 0 else datetime.date.min


def span(agreement: Agreement, on: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """The dates whose allowed records count toward a check dated ``on`` (every window of
    the period that contains ``on``), or None when the agreement has no period limit."""
    limits = agreement.limits
    if limits.max_records_per_period is None or limits.period_days is None:
        return None
    reach = limits.period_days - 1
    return shifted(on, -reach), shifted(on, reach)


def peak_usage(daily: Mapping[datetime.date, int], on: datetime.date, period_days: int) -> int:
    """The most records allowed in any window of ``period_days`` days containing ``on``,
    from records allowed per day."""
    reach = period_days - 1
    offsets = [0] * (2 * period_days - 1)  # the days on-reach .. on+reach
    for day, records in daily.items():
        # counted from ``on``, not from a clamped first day: near the start of the calendar
        # that would take in days a window containing ``on`` never reaches
        index = (day - on).days + reach
        if 0 <= index < len(offsets):
            offsets[index] += records
    window = sum(offsets[:period_days])
    best = window
    for end in range(period_days, len(offsets)):
        window += offsets[end] - offsets[end - period_days]
        best = max(best, window)
    return best


def add_days(
    into: dict[datetime.date, int], entries: Iterable[tuple[datetime.date, int]]
) -> dict[datetime.date, int]:
    for day, records in entries:
        into[day] = into.get(day, 0) + records
    return into
