"""The auditors' report: disclosures per agreement over a period, denials by reason, and
the log's tamper check with its result."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.cli import main
from registry.errors import InvalidInput
from registry.service import Registry
from tests.checking.helpers import AGREEMENT, record, request


def _fill(registry: Registry) -> None:
    registry.check(request(on="2025-06-01", records=[record(1), record(2)]))
    registry.check(request(on="2025-06-02", records=[record(2), record(3)]))  # person 2 again
    registry.check(request(on="2025-07-01", records=[record(4)]))
    cancelled = registry.check(request(on="2025-06-03", records=[record(5)]))
    registry.cancel(cancelled.decision_id, "export failed")
    registry.check(request(on="2025-06-04", purpose="curiosity"))
    registry.check(request(on="2025-06-05", purpose="curiosity", fields=["return.wages"]))
    bad = record(6, taxpayer={"name": "X", "tin": "6", "address": {"zip": "62701"}})
    registry.check(request(on="2025-06-06", records=[bad]))


def test_the_report_counts_a_period(loaded: Registry) -> None:
    _fill(loaded)
    june = loaded.report(first=datetime.date(2025, 6, 1), last=datetime.date(2025, 6, 30))
    assert june.log.ok and june.log.entries == 8
    (row,) = june.disclosures
    assert (row.agreement, row.transfers, row.records, row.people) == (AGREEMENT, 2, 4, 3)
    assert row.recipients == ("dhs-ice",)
    assert (row.first, row.last) == (datetime.date(2025, 6, 1), datetime.date(2025, 6, 2))
    denials = {(d.code, d.agreement): d.decisions for d in june.denials}
    assert denials[("purpose_not_permitted", AGREEMENT)] == 2
    assert denials[("field_prohibited", AGREEMENT)] == 1
    assert denials[("irc6103.address_incomplete", AGREEMENT)] == 1
    everything = loaded.report()
    assert everything.disclosures[0].transfers == 3 and everything.disclosures[0].people == 4


def test_a_period_that_ends_before_it_starts_is_refused(loaded: Registry) -> None:
    with pytest.raises(InvalidInput, match="before it starts"):
        loaded.report(first=datetime.date(2025, 7, 1), last=datetime.date(2025, 6, 1))


def test_the_cli_shows_the_tamper_check_and_fails_on_an_altered_log(
    loaded: Registry, db_url: str
) -> None:
    _fill(loaded)
    runner = CliRunner()
    base = ["--database", db_url, "report"]
    shown = runner.invoke(main, [*base, "--from", "2025-06-01", "--to", "2025-06-30"])
    assert shown.exit_code == 0, shown.output
    assert "Decision log: verified, 8 entries" in shown.stdout
    assert "checks dated 2025-06-01 to 2025-06-30" in " ".join(shown.stdout.split())
    # An open period counts checks dated in the future too: it does not end "today".
    open_ended = " ".join(runner.invoke(main, base).stdout.split())
    assert "checks dated the first check to the last check" in open_ended
    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(main, [*base, "--format", "disclosures-csv"]).stdout)
        )
    )
    assert rows[0]["people"] == "4" and rows[0]["recipients"] == "dhs-ice"
    with loaded.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE decision_log SET records_counted = 1 WHERE seq = 1"))
    altered = runner.invoke(main, base)
    assert altered.exit_code == 1
    assert "FAILED verification at entry 1" in altered.stdout
