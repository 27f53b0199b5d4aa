"""Reviews: recorded as dated events, shown in the history, and moving an agreement off
the due-for-review list until its next review date; bad input writes nothing."""

from __future__ import annotations

import datetime

import pytest
from click.testing import CliRunner

from registry.cli import main
from registry.errors import Conflict, InvalidInput, NotFound
from registry.service import Registry
from tests.conftest import AGREEMENTS

TODAY = datetime.date.today()
# irs-usao-edva-6103i2 expires 2027-06-30 with 90 days' notice: due for review from 2027-04-01.
EDVA = "irs-usao-edva-6103i2"
AS_OF = datetime.date(2026, 11, 28)


def _due(loaded: Registry, as_of: datetime.date, within: int) -> dict[str, str]:
    return {r.agreement: r.due for r in loaded.expiring(within, as_of)}


def test_a_review_moves_the_agreement_off_the_review_list_until_its_next_date(
    loaded: Registry,
) -> None:
    assert _due(loaded, AS_OF, 150).get(EDVA) == "review"
    done = loaded.record_review(
        EDVA,
        outcome="renew",
        note="Renewal drafted with the USAO; no change of terms.",
        next_review=datetime.date(2027, 6, 1),
        reviewed_on=AS_OF,
        recorded_by="r.reviewer",
    )
    assert (done.version, done.outcome, done.recorded_by) == (1, "renew", "r.reviewer")
    assert EDVA not in _due(loaded, AS_OF, 150)
    # From the next review date it is due again, and the row says when it was last reviewed.
    rows = {r.agreement: r for r in loaded.expiring(220, AS_OF)}
    assert rows[EDVA].due == "expiring"  # 2027-06-30 is within 220 days: still listed
    later = {r.agreement: r for r in loaded.expiring(10, datetime.date(2027, 5, 25))}
    assert later[EDVA].due == "review" and later[EDVA].review_from == datetime.date(2027, 6, 1)
    assert later[EDVA].last_review == AS_OF


def test_a_review_is_an_event_in_the_history(loaded: Registry) -> None:
    loaded.record_review(
        EDVA, outcome="amend", note="Limits too loose.", next_review=TODAY + datetime.timedelta(30)
    )
    (entry,) = [e for e in loaded.history(EDVA) if e.kind == "review"]
    assert entry.outcome == "amend" and entry.reason == "Limits too loose."
    assert "amend" in entry.summary and str(TODAY + datetime.timedelta(30)) in entry.summary
    assert [r.note for r in loaded.reviews(EDVA)] == ["Limits too loose."]


def test_a_review_of_a_review_before_the_as_of_date_only_counts(loaded: Registry) -> None:
    loaded.record_review(
        EDVA, outcome="renew", note="x", next_review=datetime.date(2027, 6, 1), reviewed_on=TODAY
    )
    earlier = TODAY - datetime.timedelta(days=1)
    assert _due(loaded, earlier, 36_500).get(EDVA) is not None
    assert all(r.last_review is None for r in loaded.expiring(36_500, earlier))


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"outcome": "maybe"}, "unknown outcome", "outcome"),
        ({"note": "  "}, "needs a note", "note"),
        ({"reviewed_on": TODAY + datetime.timedelta(days=1)}, "in the future", "reviewed_on"),
        ({"next_review": TODAY}, "must come after", "next_review"),
    ],
)
def test_bad_reviews_are_refused_naming_the_field(
    loaded: Registry, changes: dict[str, object], error: str, field: str
) -> None:
    given: dict[str, object] = {
        "outcome": "renew",
        "note": "ok",
        "next_review": TODAY + datetime.timedelta(days=30),
        **changes,
    }
    with pytest.raises(InvalidInput, match=error) as raised:
        loaded.record_review(EDVA, **given)  # type: ignore[arg-type]
    assert raised.value.problems[0].field == field
    assert loaded.reviews(EDVA) == []


def test_unknown_and_terminated_agreements_cannot_be_reviewed(loaded: Registry) -> None:
    later = TODAY + datetime.timedelta(days=30)
    with pytest.raises(NotFound):
        loaded.record_review("no-such", outcome="renew", note="x", next_review=later)
    loaded.terminate(EDVA, datetime.date(2026, 1, 1), "court order")
    with pytest.raises(Conflict, match="terminated"):
        loaded.record_review(EDVA, outcome="renew", note="x", next_review=later)
    assert loaded.reviews(EDVA) == []


def test_the_cli_records_and_lists_reviews(db_url: str) -> None:
    runner = CliRunner()
    base = ["--database", db_url]
    assert runner.invoke(main, [*base, "agreements", "load", str(AGREEMENTS)]).exit_code == 0
    done = runner.invoke(
        main,
        [*base, "agreements", "review", EDVA, "--outcome", "let-expire", "--note", "Ends.",
         "--next-review", "2027-06-01", "--on", "2026-11-28"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "let-expire" in done.stdout and "2027-06-01" in done.stdout
    listed = runner.invoke(main, [*base, "agreements", "reviews", EDVA, "--format", "json"])
    assert '"outcome": "let-expire"' in listed.stdout
    bad = runner.invoke(
        main,
        [*base, "agreements", "review", EDVA, "--outcome", "renew", "--note", "x",
         "--next-review", "2026-11-01", "--on", "2026-11-28"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "must come after" in bad.stderr
