"""Recorded checks: durable decisions, limits, cancellation, accounting, on both databases."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from registry.service import Registry
from tests.checking.helpers import AGREEMENT, record, request


def test_allowed_decision_is_durable_and_accounted(loaded: Registry, db_url: str) -> None:
    decision = loaded.check(request(records=[record(1), record(2)]))
    assert decision.allowed, decision.reasons
    assert (decision.agreement, decision.agreement_version) == (AGREEMENT, 1)
    assert decision.checkers == ("core", "irc6103")
    with Registry.open(db_url) as other:  # another process's view
        # the log keeps the decision without its receipt (``receipt_for`` derives it again)
        logged = msgspec.structs.replace(decision, receipt=None)
        assert other.decision(decision.decision_id) == logged
        assert [e.decision_id for e in other.disclosures(subject="100000001")] == [
            decision.decision_id
        ]
        assert other.verify().ok


def test_denied_decisions_are_logged_too(loaded: Registry) -> None:
    decision = loaded.check(request(purpose="tax-administration", records=[record(1)]))
    assert not decision.allowed
    assert [r.code for r in decision.reasons] == ["purpose_not_permitted"]
    assert loaded.decision(decision.decision_id).allowed is False
    assert loaded.disclosure_summary() == []


def test_unknown_agreement_is_a_logged_denial(loaded: Registry) -> None:
    decision = loaded.check(request(agreement="no-such-mou"))
    assert [r.code for r in decision.reasons] == ["agreement_not_found"]
    assert loaded.decisions(allowed=False)[0].decision_id == decision.decision_id


def test_agreement_lookup_names_the_agreement_used(loaded: Registry) -> None:
    decision = loaded.check(request(agreement=None, records=[record(1)]))
    assert decision.allowed
    assert decision.agreement == AGREEMENT


def test_period_limit_counts_prior_allowed_records(loaded: Registry) -> None:
    # the memorandum allows 2,500 records a request and 10,000 in 30 days
    for day in ("2025-06-01", "2025-06-10", "2025-06-20", "2025-06-30"):
        assert loaded.check(request(on=day, record_count=2500)).allowed
    denied = loaded.check(request(on="2025-06-30", record_count=1))
    assert [r.code for r in denied.reasons] == ["period_record_limit_exceeded"]
    # the window is 30 days ending on the check's date: 2025-06-01 falls out on 2025-07-01
    assert loaded.check(request(on="2025-07-01", record_count=2500)).allowed
    assert not loaded.check(request(on="2025-07-01", record_count=1)).allowed


def test_cancel_releases_records_and_disclosures(loaded: Registry) -> None:
    first = loaded.check(request(record_count=2500, on="2025-06-01"))
    for _ in range(3):
        loaded.check(request(record_count=2500, on="2025-06-01"))
    assert not loaded.check(request(record_count=1, on="2025-06-02")).allowed
    cancelled = loaded.cancel(first.decision_id, "export failed", by="ops")
    assert cancelled.cancelled
    assert loaded.decision(first.decision_id).cancelled
    assert loaded.check(request(record_count=2500, on="2025-06-02")).allowed
    assert loaded.verify().ok


def test_cancel_refuses_denials_and_double_cancels(loaded: Registry) -> None:
    import pytest

    from registry.errors import Conflict, NotFound

    denied = loaded.check(request(purpose="other"))
    with pytest.raises(Conflict, match="was a denial"):
        loaded.cancel(denied.decision_id, "x")
    allowed = loaded.check(request(record_count=1))
    loaded.cancel(allowed.decision_id, "x")
    with pytest.raises(Conflict, match="already cancelled"):
        loaded.cancel(allowed.decision_id, "again")
    with pytest.raises(NotFound):
        loaded.cancel("nope", "x")


def test_one_disclosure_entry_per_person(loaded: Registry) -> None:
    same_person = record(7)
    again = record(7)
    again["taxpayer"]["tin"] = "100-000-007"  # the same TIN, written with dashes
    decision = loaded.check(request(records=[same_person, again, record(8)]))
    assert decision.allowed and decision.record_count == 3
    summary = loaded.disclosure_summary()
    assert [(s.transfers, s.records, s.people) for s in summary] == [(1, 3, 2)]
    entries = loaded.disclosures(subject="100 000 007")
    assert [(e.recipient, e.purpose, e.agreement_version) for e in entries] == [
        ("dhs-ice", "nontax-criminal-investigation", 1)
    ]
    assert entries[0].recipient_address.startswith("500 12th St SW")
    assert "26 U.S.C. 6103(i)(2)" in entries[0].authority


def test_raw_identifiers_are_never_stored(loaded: Registry) -> None:
    loaded.check(request(records=[record(42)]))
    tin, name = "100000042", "Person 42"
    with loaded.db.read() as session:
        conn = session.connection()
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                text = " ".join(str(v) for v in row)
                assert tin not in text, table
                assert name not in text, table


def test_a_record_without_its_subject_key_is_denied(loaded: Registry) -> None:
    anonymous = record(1)
    del anonymous["taxpayer"]["tin"]
    decision = loaded.check(request(records=[record(2), anonymous]))
    assert not decision.allowed
    codes = {(r.code, r.field, r.records) for r in decision.reasons}
    assert ("record_invalid", "taxpayer.tin", (1,)) in codes


def test_suspension_is_seen_by_the_next_check(loaded: Registry, db_url: str) -> None:
    assert loaded.check(request(on="2025-12-01", record_count=1)).allowed
    with Registry.open(db_url) as other:
        other.suspend(AGREEMENT, _date("2025-11-21"), "court order")
    decision = loaded.check(request(on="2025-12-01", record_count=1))
    assert [r.code for r in decision.reasons] == ["agreement_not_active"]
    assert loaded.check(request(on="2025-11-20", record_count=1)).allowed


def test_amendment_is_seen_by_the_next_check(loaded: Registry, write_files) -> None:
    import tomllib

    import tomli_w

    from tests.conftest import AGREEMENTS

    data = tomllib.loads((AGREEMENTS / f"{AGREEMENT}.toml").read_text())
    data["limits"]["max_records_per_request"] = 10
    folder = write_files([data], parties=None, folder="amended")
    (folder / f"{AGREEMENT}.toml").write_text(tomli_w.dumps(data))
    assert loaded.check(request(record_count=11)).allowed
    loaded.load([folder])
    decision = loaded.check(request(record_count=11))
    assert (decision.agreement_version, [r.code for r in decision.reasons]) == (
        2,
        ["request_record_limit_exceeded"],
    )


def _date(text: str):  # type: ignore[no-untyped-def]
    import datetime

    return datetime.date.fromisoformat(text)


def test_expiring_flags_an_open_renewal_window(loaded: Registry) -> None:
    rows = loaded.expiring(30, _date("2028-01-15"))
    cma = next(r for r in rows if r.agreement == "ssa-state-dhs-cma-2026")
    assert cma.flags == ("privacy_act.renewal_window_open",)
    assert cma.due == "review" and cma.expires == _date("2028-03-31")
    earlier = loaded.expiring(200, _date("2027-12-30"))
    assert next(r for r in earlier if r.agreement == "ssa-state-dhs-cma-2026").flags == ()


def test_expiring_uses_the_term_a_valid_renewal_extends(loaded: Registry) -> None:
    # ssa-state-dhs-cma expired on 2025-09-30 and was validly renewed to 2026-09-30
    rows = loaded.expiring(30, _date("2026-09-15"))
    renewed = next(r for r in rows if r.agreement == "ssa-state-dhs-cma")
    assert (renewed.expires, renewed.due, renewed.flags) == (_date("2026-09-30"), "expiring", ())
    decision = loaded.check(
        request(
            agreement="ssa-state-dhs-cma",
            source_system="ssa-sves",
            recipient="pa-dhs",
            purpose="snap-eligibility-verification",
            fields=["individual.ssn"],
            on="2026-06-01",
            request={"certification": True},
            approvals=[],
            record_count=1,
        )
    )
    assert decision.allowed, decision.reasons
