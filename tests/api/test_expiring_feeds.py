"""The expiring list as CSV and as a subscribable iCalendar feed, over HTTP and the CLI;
the feed parses with the icalendar library."""

from __future__ import annotations

import csv
import datetime
import io

import icalendar
from click.testing import CliRunner

from registry.calendar import to_csv, to_ics
from registry.cli import main
from registry.schemas import ExpiringRow
from tests.api.conftest import Api

ROW = ExpiringRow(
    agreement="irs-ice-2025-mou",
    title="Memorandum, with a comma; and a semicolon",
    status="suspended",
    due="review",
    expires=datetime.date(2027, 4, 6),
    review_from=datetime.date(2027, 1, 6),
    days_left=129,
    discloser="irs",
    recipients=("dhs-ice", "usao-edva"),
    version=3,
    flags=("privacy_act.renewal_window_open",),
)


def _events(feed: bytes) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(feed)
    return [c for c in cal.walk() if c.name == "VEVENT"]


def test_the_feed_has_a_review_and_an_expiry_event_per_agreement() -> None:
    events = _events(to_ics([ROW]))
    assert [(str(e["summary"]), e.decoded("dtstart")) for e in events] == [
        ("Review due: irs-ice-2025-mou", datetime.date(2027, 1, 6)),
        ("Expires: irs-ice-2025-mou", datetime.date(2027, 4, 6)),
    ]
    assert [str(e["uid"]) for e in events] == [
        "irs-ice-2025-mou-review@agreement-registry",
        "irs-ice-2025-mou-expiry@agreement-registry",
    ]
    description = str(events[0]["description"])
    assert "irs → dhs-ice, usao-edva" in description and "suspended" in description
    assert "privacy_act.renewal_window_open" in description
    assert all(
        e.decoded("dtend") - e.decoded("dtstart") == datetime.timedelta(days=1) for e in events
    )


def test_an_amendment_keeps_the_event_uids() -> None:
    moved = ExpiringRow(**{**{f: getattr(ROW, f) for f in ROW.__struct_fields__}, "version": 4})
    assert [e["uid"] for e in _events(to_ics([ROW]))] == [
        e["uid"] for e in _events(to_ics([moved]))
    ]


def test_csv_quotes_commas_and_joins_lists() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv([ROW]))))
    assert rows == [
        {
            "agreement": "irs-ice-2025-mou",
            "title": "Memorandum, with a comma; and a semicolon",
            "due": "review",
            "status": "suspended",
            "expires": "2027-04-06",
            "review_from": "2027-01-06",
            "days_left": "129",
            "discloser": "irs",
            "recipients": "dhs-ice;usao-edva",
            "version": "3",
            "flags": "privacy_act.renewal_window_open",
        }
    ]


def test_the_api_serves_csv_and_the_feed(api: Api) -> None:
    as_csv = api.get("/v1/expiring.csv?within=3650&as_of=2026-11-28", role="reviewer")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    listed = api.get("/v1/expiring?within=3650&as_of=2026-11-28", role="reviewer").json()
    assert [r["agreement"] for r in csv.DictReader(io.StringIO(as_csv.text))] == [
        r["agreement"] for r in listed
    ]
    feed = api.get("/v1/expiring.ics?within=3650", role="reviewer")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert len(_events(feed.content)) == 2 * len(
        api.get("/v1/expiring?within=3650", role="reviewer").json()
    )


def test_a_calendar_subscribes_with_the_token_in_the_url(api: Api) -> None:
    token = api.tokens["reviewer"]
    feed = api.client.get(f"/v1/expiring.ics?within=3650&token={token}")
    assert feed.status_code == 200 and _events(feed.content)
    assert api.client.get("/v1/expiring.ics?token=rgt_nope").status_code == 401
    # Only a reviewer token may travel in a URL (it ends up in logs and calendar settings).
    for role in ("admin", "legal", "system"):
        assert api.client.get(f"/v1/expiring.ics?token={api.tokens[role]}").status_code == 401
    assert api.get("/v1/expiring.ics", role="admin").status_code == 200  # in a header: fine
    # No other route takes a token from the URL.
    assert api.client.get(f"/v1/expiring?token={token}").status_code == 401
    assert api.client.get(f"/v1/expiring.csv?token={token}").status_code == 401


def test_the_cli_prints_csv_and_ics(db_url: str) -> None:
    runner = CliRunner()
    from tests.conftest import AGREEMENTS

    base = ["--database", db_url]
    assert runner.invoke(main, [*base, "agreements", "load", str(AGREEMENTS)]).exit_code == 0
    ics = runner.invoke(main, [*base, "expiring", "--within", "3650", "--format", "ics"])
    assert ics.exit_code == 0, ics.output
    assert _events(ics.stdout.encode())
    out = runner.invoke(main, [*base, "expiring", "--within", "3650", "--format", "csv"])
    assert out.exit_code == 0 and out.stdout.startswith("agreement,title,due,")
