"""Versioned storage of agreements and parties, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from registry.errors import Conflict, InvalidInput, NotFound
from registry.service import Registry
from tests.conftest import AGREEMENTS, agreement_data

D = datetime.date


def test_load_creates_parties_and_agreements(registry_at: Registry, write_files) -> None:
    folder = write_files([agreement_data()])
    outcomes, problems = registry_at.load([folder])
    assert [p for p in problems if p.severity == "error"] == []
    assert {(o.kind, o.id, o.action, o.version) for o in outcomes} == {
        ("party", "irs", "created", 1),
        ("party", "dhs-ice", "created", 1),
        ("party", "ssa", "created", 1),
        ("party", "state-dhs", "created", 1),
        ("agreement", "test-mou", "created", 1),
    }
    record = registry_at.agreement("test-mou")
    assert record.info.version == 1
    assert record.agreement.limits.max_records_per_request == 100
    assert record.info.source is not None and record.info.source.endswith("test-mou.toml")


def test_identical_file_changes_nothing(registry_at: Registry, write_files) -> None:
    folder = write_files([agreement_data()])
    registry_at.load([folder])
    outcomes, _ = registry_at.load([folder])
    assert {o.action for o in outcomes} == {"unchanged"}
    assert [v.version for v in registry_at.versions("test-mou")] == [1]


def test_changed_file_adds_an_immutable_version(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    amended = agreement_data(
        limits={"max_records_per_request": 50, "max_records_per_period": 1000, "period_days": 30},
        version_effective="2025-06-01",
    )
    outcomes, _ = registry_at.load([write_files([amended])])
    assert ("agreement", "test-mou", "amended", 2) in {
        (o.kind, o.id, o.action, o.version) for o in outcomes
    }
    assert (
        registry_at.agreement("test-mou", version=1).agreement.limits.max_records_per_request == 100
    )
    assert (
        registry_at.agreement("test-mou", version=2).agreement.limits.max_records_per_request == 50
    )
    # the version in force depends on the day
    assert registry_at.agreement("test-mou", on=D(2025, 5, 31)).info.version == 1
    assert registry_at.agreement("test-mou", on=D(2025, 6, 1)).info.version == 2


def test_reverting_a_file_is_a_new_version_not_a_deletion(
    registry_at: Registry, write_files
) -> None:
    registry_at.load([write_files([agreement_data()])])
    registry_at.load([write_files([agreement_data(title="Renamed")])])
    registry_at.load([write_files([agreement_data()])])
    versions = registry_at.versions("test-mou")
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].content_hash == versions[2].content_hash != versions[1].content_hash


def test_diff_describes_the_amendment(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    fields = {"permitted": ["taxpayer.name", "taxpayer.tin"], "prohibited": ["return.*"]}
    checkers = {"irc6103": {"permitted_statutes": ["8 U.S.C. 1253(a)(1)"]}}
    registry_at.load([write_files([agreement_data(fields=fields, checkers=checkers)])])
    old, new, changes = registry_at.diff("test-mou")
    assert (old, new) == (1, 2)
    summaries = [c.summary for c in changes]
    assert "Permitted fields removed: taxpayer.address" in summaries
    assert any("address_field" in s for s in summaries)


def test_a_load_with_any_error_writes_nothing(registry_at: Registry, write_files) -> None:
    good = agreement_data()
    bad = agreement_data(id="bad-mou", recipients=["nobody"])
    folder = write_files([good, bad])
    with pytest.raises(InvalidInput) as caught:
        registry_at.load([folder])
    assert any(p.rule == "core.unknown_party" for p in caught.value.problems)
    assert registry_at.list_agreements() == []
    assert registry_at.parties() == {}


def test_malformed_toml_writes_nothing(registry_at: Registry, write_files) -> None:
    folder = write_files([agreement_data()], raw={"broken.toml": "id = \n"})
    with pytest.raises(InvalidInput) as caught:
        registry_at.load([folder])
    broken = [p for p in caught.value.problems if p.file and p.file.endswith("broken.toml")]
    assert broken and broken[0].line == 1 and broken[0].rule == "file.syntax"
    assert registry_at.list_agreements() == []


def test_unknown_agreement_is_not_found(registry_at: Registry) -> None:
    with pytest.raises(NotFound, match="no agreement 'nope'"):
        registry_at.agreement("nope")


def test_unknown_version_is_not_found(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    with pytest.raises(NotFound, match="no version 7"):
        registry_at.agreement("test-mou", version=7)


def test_status_events_are_dated(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    registry_at.suspend("test-mou", D(2025, 3, 1), "court order", recorded_by="legal-1")
    registry_at.reinstate("test-mou", D(2025, 4, 1), "order lifted", recorded_by="legal-2")
    stored = registry_at.stored("test-mou")
    assert stored.status_on(D(2025, 2, 28)) == "active"
    assert stored.status_on(D(2025, 3, 1)) == "suspended"
    assert stored.status_on(D(2025, 3, 31)) == "suspended"
    assert stored.status_on(D(2025, 4, 1)) == "active"
    history = registry_at.history("test-mou")
    assert [(h.kind, h.recorded_by) for h in history] == [
        ("version", history[0].recorded_by),
        ("status", "legal-1"),
        ("status", "legal-2"),
    ]


def test_suspending_a_suspended_agreement_is_a_conflict(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    registry_at.suspend("test-mou", D(2025, 3, 1), "court order")
    with pytest.raises(Conflict, match="its status that day is suspended"):
        registry_at.suspend("test-mou", D(2025, 3, 5), "again")
    with pytest.raises(Conflict, match="its status that day is active"):
        registry_at.reinstate("test-mou", D(2025, 2, 1), "not suspended then")


def test_a_status_change_needs_a_reason(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    with pytest.raises(InvalidInput, match="reason"):
        registry_at.suspend("test-mou", D(2025, 3, 1), "   ")
    assert registry_at.stored("test-mou").events == ()


def test_terminated_agreement_cannot_be_amended_or_reinstated(
    registry_at: Registry, write_files
) -> None:
    registry_at.load([write_files([agreement_data()])])
    registry_at.terminate("test-mou", D(2025, 9, 1), "program ended")
    with pytest.raises(Conflict, match="terminated"):
        registry_at.reinstate("test-mou", D(2025, 10, 1), "changed our minds")
    with pytest.raises(Conflict, match="terminated"):
        registry_at.suspend("test-mou", D(2025, 8, 1), "before the end")
    with pytest.raises(Conflict, match="cannot be amended"):
        registry_at.load([write_files([agreement_data(title="Amended after termination")])])
    assert [v.version for v in registry_at.versions("test-mou")] == [1]
    # loading the unchanged file again is still fine: it changes nothing
    outcomes, _ = registry_at.load([write_files([agreement_data()])])
    assert {o.action for o in outcomes} == {"unchanged"}


def test_termination_in_the_file_is_final_too(registry_at: Registry, write_files) -> None:
    ended = agreement_data(
        status_changes=[{"on": "2025-09-01", "status": "terminated", "reason": "ended"}]
    )
    registry_at.load([write_files([ended])])
    assert registry_at.stored("test-mou").status_on(D(2025, 9, 1)) == "terminated"
    with pytest.raises(Conflict):
        registry_at.load([write_files([agreement_data(title="again")])])


def test_a_status_change_dated_before_its_amendment_takes_force_is_refused(
    registry_at: Registry, write_files
) -> None:
    # Until version 2 takes force, version 1 decides: a termination only in version 2,
    # dated before, would not apply on its date, while the registry counted the agreement
    # as terminated (refusing to suspend it).
    registry_at.load([write_files([agreement_data()])])
    early = agreement_data(
        version_effective="2026-09-01",
        status_changes=[{"on": "2026-06-30", "status": "terminated", "reason": "ended"}],
    )
    with pytest.raises(InvalidInput, match="comes before this amendment takes force") as raised:
        registry_at.load([write_files([early])])
    assert "registry agreements terminate test-mou --on 2026-06-30" in str(raised.value)
    assert [v.version for v in registry_at.versions("test-mou")] == [1]
    # What it suggests works: the termination applies from its date.
    registry_at.terminate("test-mou", D(2026, 6, 30), "ended")
    assert registry_at.stored("test-mou").status_on(D(2026, 7, 1)) == "terminated"


def test_history_kept_in_an_amended_file_is_fine(registry_at: Registry, write_files) -> None:
    history = [
        {"on": "2025-03-01", "status": "suspended", "reason": "audit"},
        {"on": "2025-04-01", "status": "active", "reason": "audit done"},
    ]
    registry_at.load([write_files([agreement_data(status_changes=history)])])
    amended = agreement_data(version_effective="2026-01-01", title="v2", status_changes=history)
    outcomes, _ = registry_at.load([write_files([amended])])
    assert [o.action for o in outcomes if o.kind == "agreement"] == ["amended"]
    assert registry_at.stored("test-mou").status_on(D(2025, 3, 15)) == "suspended"


def test_a_file_that_only_reorders_a_list_makes_no_new_version(
    registry_at: Registry, write_files
) -> None:
    registry_at.load([write_files([agreement_data()])])
    permitted = list(agreement_data()["fields"]["permitted"])
    assert len(permitted) > 1
    reordered = agreement_data(fields={**agreement_data()["fields"], "permitted": permitted[::-1]})
    outcomes, _ = registry_at.load([write_files([reordered])])
    assert [o.action for o in outcomes if o.kind == "agreement"] == ["unchanged"]
    assert [v.version for v in registry_at.versions("test-mou")] == [1]
    # a list that changes, not only its order, still makes a version
    prohibited = [*agreement_data()["fields"]["prohibited"], "taxpayer.phone"]
    changed = agreement_data(fields={**agreement_data()["fields"], "prohibited": prohibited})
    outcomes, _ = registry_at.load([write_files([changed])])
    assert [o.action for o in outcomes if o.kind == "agreement"] == ["amended"]


def test_expected_version_detects_a_concurrent_change(registry_at: Registry, write_files) -> None:
    registry_at.load([write_files([agreement_data()])])
    registry_at.load([write_files([agreement_data(title="Second")])])
    from registry.documents import read

    doc = read(write_files([agreement_data(title="Third")]) / "test-mou.toml")
    with pytest.raises(Conflict, match="is at version 2, not 1"):
        registry_at.save([], [(doc.value, None)], expected_versions={"test-mou": 1})
    assert (
        registry_at.save([], [(doc.value, None)], expected_versions={"test-mou": 2})[0].version == 3
    )


def test_party_amendment_keeps_old_versions(registry_at: Registry, write_files) -> None:
    from tests.conftest import PARTIES

    registry_at.load([write_files([])])
    moved = {"party": [dict(p) for p in PARTIES["party"]]}
    moved["party"][0]["address"] = "New address, Washington, DC 20001"
    outcomes, _ = registry_at.load([write_files([], parties=moved)])
    assert ("party", "irs", "amended", 2) in {(o.kind, o.id, o.action, o.version) for o in outcomes}
    assert registry_at.parties()["irs"].address == "New address, Washington, DC 20001"
    with registry_at.db.read() as session:
        count = (
            session.connection()
            .execute(sa.text("SELECT count(*) FROM party_version WHERE party_id = 'irs'"))
            .scalar_one()
        )
    assert count == 2


def test_shipped_agreements_load(registry_at: Registry) -> None:
    outcomes, problems = registry_at.load([AGREEMENTS])
    assert problems == []
    ids = {o.id for o in outcomes if o.kind == "agreement"}
    assert {"irs-ice-2025-mou", "irs-usao-edva-6103i2", "irs-state-revenue-6103d"} <= ids
    assert len(registry_at.list_agreements()) == len(ids)


def test_round_trip_file_struct_database_struct(registry_at: Registry) -> None:
    from registry.documents import collect, read

    files, _ = collect([AGREEMENTS])
    registry_at.load([AGREEMENTS])
    for path in files:
        doc = read(path)
        if doc.is_parties:
            for party in doc.value.party:
                assert registry_at.parties()[party.id] == party
        else:
            assert registry_at.agreement(doc.value.id).agreement == doc.value


def test_expiring_lists_soonest_first(registry_at: Registry, write_files) -> None:
    a = agreement_data(id="a-mou", expires="2026-03-01")
    b = agreement_data(id="b-mou", expires="2026-02-01")
    c = agreement_data(id="c-mou", expires="2026-12-31")
    registry_at.load([write_files([a, b, c])])
    registry_at.suspend("a-mou", D(2025, 6, 1), "audit")
    rows = registry_at.expiring(30, D(2026, 1, 15))
    assert [(r.agreement, r.due, r.status) for r in rows] == [
        ("b-mou", "expiring", "active"),
        ("a-mou", "review", "suspended"),
    ]
    registry_at.terminate("b-mou", D(2026, 1, 10), "ended early")
    assert [r.agreement for r in registry_at.expiring(30, D(2026, 1, 15))] == ["a-mou"]


def test_an_agreement_registered_as_terminated_cannot_be_amended(
    registry_at: Registry, write_files
) -> None:
    registry_at.load([write_files([agreement_data(status="terminated")])])
    with pytest.raises(Conflict, match="cannot be amended"):
        registry_at.load([write_files([agreement_data(status="active")])])
    assert [v.version for v in registry_at.versions("test-mou")] == [1]
