"""The expiring list as CSV and as an iCalendar feed.

The feed has two all-day events an agreement: the day its review notice starts and the
day it expires, so that a reviewer's calendar shows both. Their UIDs depend only on the
agreement and the kind of date, so a calendar that subscribes to the feed moves an event
when an amendment moves its date instead of adding a second one. The
``icalendar`` library writes the feed (folding, escaping, line endings), not string
formatting: calendar clients are strict about all three.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import icalendar

from . import spreadsheet
from .engine.limits import shifted
from .schemas import ExpiringRow

CSV_COLUMNS = (
    "agreement",
    "title",
    "due",
    "status",
    "expires",
    "review_from",
    "days_left",
    "discloser",
    "recipients",
    "version",
    "flags",
)
PRODUCT = "-//agreement-registry//expiring agreements//EN"


def to_csv(rows: Sequence[ExpiringRow]) -> str:
    """One line an agreement, soonest first; recipients and flags joined with ``;``."""
    return spreadsheet.to_csv(
        CSV_COLUMNS,
        (
            [
                r.agreement,
                r.title,
                r.due,
                r.status,
                r.expires.isoformat(),
                r.review_from.isoformat(),
                r.days_left,
                r.discloser,
                ";".join(r.recipients),
                r.version,
                ";".join(r.flags),
            ]
            for r in rows
        ),
    )


def to_ics(
    rows: Sequence[ExpiringRow],
    *,
    generated: datetime.datetime | None = None,
    name: str = "Agreements expiring or due for review",
) -> bytes:
    """An iCalendar (RFC 5545) feed: a review event and an expiry event an agreement."""
    stamp = generated or datetime.datetime.now(datetime.UTC)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for r in rows:
        parties = f"{r.discloser} → {', '.join(r.recipients)}"
        flags = f"\nFlags: {', '.join(r.flags)}" if r.flags else ""
        details = (
            f"{r.title}\nParties: {parties}\nStatus: {r.status}\nVersion: {r.version}\n"
            f"Review from: {r.review_from}\nExpires: {r.expires}{flags}"
        )
        for kind, day, summary in (
            ("review", r.review_from, f"Review due: {r.agreement}"),
            ("expiry", r.expires, f"Expires: {r.agreement}"),
        ):
            event = icalendar.Event()
            event.add("uid", f"{r.agreement}-{kind}@agreement-registry")
            event.add("dtstamp", stamp)
            event.add("dtstart", day)
            event.add("dtend", shifted(day, 1))
            event.add("summary", summary)
            event.add("description", details)
            event.add("categories", ["agreement-" + kind])
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
    return cal.to_ical()
