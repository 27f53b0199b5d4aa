"""CSV exports open in a spreadsheet without running anything (registry.spreadsheet)."""

from __future__ import annotations

import csv
import io

import msgspec
import pytest

from registry.calendar import to_csv
from registry.reports import denials_csv, disclosures_csv
from registry.schemas import DisclosureSummary
from registry.spreadsheet import cell
from tests.api.test_expiring_feeds import ROW


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example","x")', "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_a_text_that_starts_like_a_formula_gets_an_apostrophe(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Memorandum", "2027-04-06", "", 129, -3, None])
def test_other_values_are_left_as_they_are(value: object) -> None:
    assert cell(value) == value


def test_an_agreement_title_that_is_a_formula_is_text_in_the_expiring_csv() -> None:
    row = msgspec.structs.replace(ROW, title='=HYPERLINK("http://evil.example","open me")')
    (read,) = csv.DictReader(io.StringIO(to_csv([row])))
    assert read["title"] == "'" + row.title
    assert read["days_left"] == str(ROW.days_left)


def test_the_report_csvs_go_through_the_same_cells() -> None:
    summary = DisclosureSummary(
        agreement="irs-ice-2025-mou", transfers=1, records=2, people=2, first=None, last=None,
        recipients=("@dhs-ice",),
    )  # fmt: skip
    (read,) = csv.DictReader(io.StringIO(disclosures_csv([summary])))
    assert read["recipients"] == "'@dhs-ice"
    assert read["records"] == "2"
    assert denials_csv([]).splitlines() == ["code,agreement,decisions"]
