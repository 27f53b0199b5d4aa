"""The core checker's rules, driven through the engine the way the service drives it.

Each test builds an Agreement from the test agreement data, hands it to a ``Check`` as a
candidate, feeds records when the test needs them, and asks for the decision. No
database: period usage comes in as ``period_used``, the date as ``on``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from types import EllipsisType
from typing import Any

import msgspec
import pytest

from registry.engine.decide import Candidate, Check
from registry.engine.evaluate import Evaluator
from registry.engine.plugins import Plugins
from registry.schemas import Agreement, CheckRequest, Decision, PartiesFile, Reason
from registry.schemas.types import AgreementStatus
from tests.conftest import PARTIES, agreement_data

ON = datetime.date(2025, 6, 1)
CHECKED_AT = datetime.datetime(2025, 6, 1, 14, 3, 11, tzinfo=datetime.UTC)
PARTY_MAP = {p.id: p for p in msgspec.convert(PARTIES, PartiesFile).party}
ADDRESS = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}

Batches = Sequence[tuple[int, Sequence[Any]]]


def make_agreement(**changes: Any) -> Agreement:
    return msgspec.convert(agreement_data(**changes), Agreement)


AGREEMENT = make_agreement()


def make_request(**changes: Any) -> CheckRequest:
    """A request the base agreement allows, with top-level keys replaced."""
    data: dict[str, Any] = {
        "agreement": "test-mou",
        "source_system": "irs-itin-address",
        "recipient": "dhs-ice",
        "purpose": "nontax-criminal-investigation",
        "fields": ["taxpayer.name", "taxpayer.address"],
        "request": {
            "signed_by": "Director",
            "case_number": "C-2025-17",
            "statutory_authority": "8 U.S.C. 1253(a)(1)",
        },
        "approvals": [{"role": "disclosure-officer", "by": "a.jones"}],
    }
    data.update(changes)
    return msgspec.convert(data, CheckRequest)


def with_elements(**changes: Any) -> dict[str, Any]:
    """The base request's elements with some replaced (a value of ``...`` removes one)."""
    elements: dict[str, Any] = {
        "signed_by": "Director",
        "case_number": "C-2025-17",
        "statutory_authority": "8 U.S.C. 1253(a)(1)",
    }
    for key, value in changes.items():
        if value is ...:
            elements.pop(key)
        else:
            elements[key] = value
    return elements


def record(name: Any = "Ana Diaz", **taxpayer: Any) -> dict[str, Any]:
    person: dict[str, Any] = {"name": name, "tin": "900-70-0001", "address": dict(ADDRESS)}
    if name is ...:
        del person["name"]
    person.update(taxpayer)
    return {"taxpayer": person}


def run(
    plugins: Plugins,
    request: CheckRequest | None = None,
    *,
    candidates: Sequence[Candidate] | EllipsisType | None = ...,
    agreement: Agreement = AGREEMENT,
    status: AgreementStatus = "active",
    on: datetime.date = ON,
    batches: Batches = (),
    period_used: Mapping[str, int] | None = None,
    record_count: int | None = None,
    received_under: Mapping[str, Agreement | None] | None = None,
    evaluator: Evaluator | None = None,
) -> Decision:
    """Check ``request`` as the service does: candidates, records fed in batches, decide."""
    request = request or make_request()
    if candidates is ...:
        candidates = [Candidate(agreement, 1, status)]
    check = Check(
        evaluator or Evaluator(plugins),
        request,
        on,
        candidates,
        PARTY_MAP,
        received_under or {},
    )
    if not batches and request.records:
        batches = [(0, request.records)]
    for start, batch in batches:
        check.feed(start, batch)
    if record_count is None:
        if request.record_count is not None:
            record_count = request.record_count
        else:
            record_count = sum(len(batch) for _, batch in batches)
    return check.decide(
        period_used=period_used or {},
        record_count=record_count,
        decision_id="d",
        checked_at=CHECKED_AT,
    )


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


def only(decision: Decision, code: str) -> Reason:
    """The one reason with ``code``."""
    found = [r for r in decision.reasons if r.code == code]
    assert len(found) == 1, decision.reasons
    return found[0]


def assert_denied_only_for(decision: Decision, code: str, field: str | None) -> Reason:
    assert decision.allowed is False
    assert codes(decision) == [code]
    reason = decision.reasons[0]
    assert reason.field == field
    assert reason.checker == "core"
    return reason


# --- the baseline ------------------------------------------------------------------------


def test_a_request_that_fits_the_agreement_is_allowed(plugins: Plugins) -> None:
    decision = run(plugins, make_request(records=[record(), record("Bo Li")]))
    assert decision.allowed is True
    assert decision.reasons == ()
    assert decision.agreement == "test-mou"
    assert decision.agreement_version == 1
    assert decision.decision_id == "d"
    assert decision.checked_at == CHECKED_AT
    assert decision.on == ON
    assert decision.record_count == 2


def test_the_decision_lists_the_checkers_that_ran(plugins: Plugins) -> None:
    assert run(plugins).checkers == ("core", "irc6103")


def test_only_core_runs_for_an_agreement_that_names_no_checker(plugins: Plugins) -> None:
    agreement = make_agreement(required_checkers=[], checkers={})
    decision = run(plugins, agreement=agreement)
    assert decision.allowed is True
    assert decision.checkers == ("core",)


def test_a_checker_table_makes_that_checker_run(plugins: Plugins) -> None:
    agreement = make_agreement(
        required_checkers=[], checkers={"privacy_act": {"transmitted_to_congress": "2024-11-01"}}
    )
    assert run(plugins, agreement=agreement).checkers == ("core", "privacy_act")


# --- dates and status --------------------------------------------------------------------


@pytest.mark.parametrize(
    "on", [datetime.date(2025, 1, 1), datetime.date(2026, 12, 31)], ids=["effective", "expires"]
)
def test_the_first_and_last_days_of_the_term_are_allowed(
    plugins: Plugins, on: datetime.date
) -> None:
    decision = run(plugins, on=on)
    assert decision.allowed is True, decision.reasons


def test_the_day_before_effective_is_not_yet_effective(plugins: Plugins) -> None:
    decision = run(plugins, on=datetime.date(2024, 12, 31))
    reason = assert_denied_only_for(decision, "agreement_not_yet_effective", "on")
    assert "2025-01-01" in reason.message


def test_the_day_after_expires_is_expired(plugins: Plugins) -> None:
    decision = run(plugins, on=datetime.date(2027, 1, 1))
    reason = assert_denied_only_for(decision, "agreement_expired", "on")
    assert "2026-12-31" in reason.message


@pytest.mark.parametrize("status", ["draft", "suspended", "terminated"])
def test_an_agreement_that_is_not_active_denies(plugins: Plugins, status: AgreementStatus) -> None:
    decision = run(plugins, status=status)
    reason = assert_denied_only_for(decision, "agreement_not_active", "agreement")
    assert status in reason.message


def test_an_inactive_agreement_outside_its_term_reports_both(plugins: Plugins) -> None:
    decision = run(plugins, status="terminated", on=datetime.date(2027, 1, 1))
    assert sorted(codes(decision)) == ["agreement_expired", "agreement_not_active"]


# --- parties, source systems, purposes ---------------------------------------------------


def test_a_recipient_that_is_not_a_party_denies(plugins: Plugins) -> None:
    agreement = make_agreement(required_checkers=[], checkers={})
    decision = run(plugins, make_request(recipient="ssa"), agreement=agreement)
    reason = assert_denied_only_for(decision, "recipient_not_party", "recipient")
    assert "'ssa'" in reason.message


def test_a_source_system_the_agreement_does_not_cover_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(source_system="irs-master-file"))
    reason = assert_denied_only_for(decision, "source_system_not_covered", "source_system")
    assert "'irs-master-file'" in reason.message


def test_a_purpose_the_agreement_does_not_name_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(purpose="marketing"))
    reason = assert_denied_only_for(decision, "purpose_not_permitted", "purpose")
    assert "'marketing'" in reason.message


# --- fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["taxpayer.address", "taxpayer.address.zip", "taxpayer.address.street.line1"]
)
def test_a_permitted_field_covers_its_sub_fields(plugins: Plugins, field: str) -> None:
    decision = run(plugins, make_request(fields=[field]))
    assert decision.allowed is True, decision.reasons


@pytest.mark.parametrize(
    "field", ["taxpayer.address_history", "taxpayer.addresses.zip", "taxpayer", "spouse.name"]
)
def test_coverage_stops_at_dot_boundaries_and_does_not_reach_up(
    plugins: Plugins, field: str
) -> None:
    decision = run(plugins, make_request(fields=["taxpayer.name", field]))
    reason = assert_denied_only_for(decision, "field_not_permitted", field)
    assert f"'{field}'" in reason.message


def test_every_field_that_is_not_permitted_is_reported(plugins: Plugins) -> None:
    fields = ["taxpayer.ssn", "taxpayer.name", "employer.ein"]
    decision = run(plugins, make_request(fields=fields))
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("field_not_permitted", "taxpayer.ssn"),
        ("field_not_permitted", "employer.ein"),
    ]


@pytest.mark.parametrize("field", ["return.wages", "return.wages.box1", "return"])
def test_a_prohibited_field_or_a_parent_of_one_is_prohibited(plugins: Plugins, field: str) -> None:
    decision = run(plugins, make_request(fields=[field]))
    reason = assert_denied_only_for(decision, "field_prohibited", field)
    assert "return.*" in reason.message


def test_prohibited_wins_over_permitted(plugins: Plugins) -> None:
    agreement = make_agreement(fields={"permitted": ["taxpayer"], "prohibited": ["taxpayer.tin"]})
    for field in ("taxpayer.tin", "taxpayer.tin.last4", "taxpayer"):
        decision = run(plugins, make_request(fields=[field]), agreement=agreement)
        assert_denied_only_for(decision, "field_prohibited", field)
    assert run(plugins, make_request(fields=["taxpayer.name"]), agreement=agreement).allowed


def test_a_prohibited_pattern_does_not_reach_a_sibling_with_a_longer_name(
    plugins: Plugins,
) -> None:
    decision = run(plugins, make_request(fields=["returns.x"]))
    assert_denied_only_for(decision, "field_not_permitted", "returns.x")


# --- request elements, signers, approvals ------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [..., None, "", "  ", "\t\n", [], {}, False],
    ids=["absent", "none", "empty", "blank", "whitespace", "empty-list", "empty-table", "false"],
)
def test_a_missing_required_element_denies_naming_it(plugins: Plugins, value: Any) -> None:
    decision = run(plugins, make_request(request=with_elements(case_number=value)))
    reason = assert_denied_only_for(decision, "request_element_missing", "request.case_number")
    assert "case_number" in reason.message


@pytest.mark.parametrize("value", [0, 0.0, True, "0", ["x"], {"n": 1}], ids=repr)
def test_a_present_element_is_not_missing_even_when_zero(plugins: Plugins, value: Any) -> None:
    decision = run(plugins, make_request(request=with_elements(case_number=value)))
    assert decision.allowed is True, decision.reasons


def test_every_missing_element_is_reported(plugins: Plugins) -> None:
    agreement = make_agreement(
        request={"required": ["case_number", "relevance_statement", "certification"]}
    )
    request = make_request(request=with_elements(certification=False))
    decision = run(plugins, request, agreement=agreement)
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("request_element_missing", "request.relevance_statement"),
        ("request_element_missing", "request.certification"),
    ]


def test_a_signer_who_is_not_authorized_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(request=with_elements(signed_by="Deputy Clerk")))
    reason = assert_denied_only_for(decision, "signer_not_authorized", "request.signed_by")
    assert "Deputy Clerk" in reason.message


def test_a_missing_required_signature_is_reported_as_missing(plugins: Plugins) -> None:
    decision = run(plugins, make_request(request=with_elements(signed_by=...)))
    assert decision.allowed is False
    assert only(decision, "request_element_missing").field == "request.signed_by"


def test_an_unsigned_request_is_denied_when_signers_are_named_but_no_signature_required(
    plugins: Plugins,
) -> None:
    agreement = make_agreement(
        request={"required": ["case_number"], "authorized_signers": ["Director"]}
    )
    request = make_request(request=with_elements(signed_by=...))
    decision = run(plugins, request, agreement=agreement)
    assert_denied_only_for(decision, "signer_not_authorized", "request.signed_by")


@pytest.mark.parametrize("signed_by", [["Director"], {"name": "Director"}, 7], ids=repr)
def test_a_signature_that_is_not_text_is_not_an_authorized_signer(
    plugins: Plugins, signed_by: Any
) -> None:
    request = make_request(request=with_elements(signed_by=signed_by), approvals=[])
    decision = run(plugins, request)
    assert decision.allowed is False
    assert [(r.code, r.checker, r.field) for r in decision.reasons] == [
        ("signer_not_authorized", "core", "request.signed_by"),
        ("approval_missing", "core", "approvals"),
    ]


def test_no_approval_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(approvals=[]))
    reason = assert_denied_only_for(decision, "approval_missing", "approvals")
    assert "disclosure-officer" in reason.message


def test_an_approval_in_another_role_does_not_count(plugins: Plugins) -> None:
    approvals = [{"role": "program-manager", "by": "a.jones"}]
    decision = run(plugins, make_request(approvals=approvals))
    assert_denied_only_for(decision, "approval_missing", "approvals")


TWO_APPROVALS = make_agreement(
    request={
        "required": ["signed_by", "case_number"],
        "authorized_signers": ["Director"],
        "approvals": [{"role": "disclosure-officer", "count": 2}],
    }
)


def test_the_same_person_approving_twice_counts_once(plugins: Plugins) -> None:
    approvals = [
        {"role": "disclosure-officer", "by": "a.jones"},
        {"role": "disclosure-officer", "by": "a.jones"},
    ]
    decision = run(plugins, make_request(approvals=approvals), agreement=TWO_APPROVALS)
    reason = assert_denied_only_for(decision, "approval_missing", "approvals")
    assert "1 given" in reason.message


def test_the_same_person_with_stray_spaces_counts_once(plugins: Plugins) -> None:
    approvals = [
        {"role": "disclosure-officer", "by": "a.jones"},
        {"role": "disclosure-officer", "by": " a.jones "},
    ]
    decision = run(plugins, make_request(approvals=approvals), agreement=TWO_APPROVALS)
    assert_denied_only_for(decision, "approval_missing", "approvals")


def test_an_approval_by_a_blank_name_does_not_count(plugins: Plugins) -> None:
    approvals = [{"role": "disclosure-officer", "by": "   "}]
    decision = run(plugins, make_request(approvals=approvals))
    assert_denied_only_for(decision, "approval_missing", "approvals")


def test_two_distinct_people_meet_an_approval_count_of_two(plugins: Plugins) -> None:
    approvals = [
        {"role": "disclosure-officer", "by": "a.jones"},
        {"role": "disclosure-officer", "by": "b.smith"},
    ]
    decision = run(plugins, make_request(approvals=approvals), agreement=TWO_APPROVALS)
    assert decision.allowed is True, decision.reasons


# --- limits ------------------------------------------------------------------------------


def test_a_request_equal_to_the_request_limit_is_allowed(plugins: Plugins) -> None:
    assert run(plugins, make_request(record_count=100)).allowed is True


def test_one_record_over_the_request_limit_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=101))
    reason = assert_denied_only_for(decision, "request_record_limit_exceeded", "record_count")
    assert "101" in reason.message and "100" in reason.message


def test_reaching_the_period_limit_exactly_is_allowed(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=100), period_used={"test-mou": 900})
    assert decision.allowed is True, decision.reasons


def test_one_record_over_the_period_limit_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=100), period_used={"test-mou": 901})
    reason = assert_denied_only_for(decision, "period_record_limit_exceeded", "record_count")
    assert "901" in reason.message and "1000" in reason.message


def test_a_full_period_denies_even_one_record(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=1), period_used={"test-mou": 1000})
    assert_denied_only_for(decision, "period_record_limit_exceeded", "record_count")


def test_period_usage_of_another_agreement_does_not_count(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=100), period_used={"other-mou": 5000})
    assert decision.allowed is True, decision.reasons


def test_an_agreement_without_limits_takes_any_count(plugins: Plugins) -> None:
    agreement = make_agreement(limits={})
    decision = run(
        plugins,
        make_request(record_count=1_000_000),
        agreement=agreement,
        period_used={"test-mou": 10**9},
    )
    assert decision.allowed is True, decision.reasons


# --- records -----------------------------------------------------------------------------


def test_records_missing_a_required_field_are_invalid_with_their_indexes(
    plugins: Plugins,
) -> None:
    records = [record(), record(...), record(), record(""), record(None), record("  ")]
    decision = run(plugins, make_request(records=records))
    reason = assert_denied_only_for(decision, "record_invalid", "taxpayer.name")
    assert reason.records == (1, 3, 4, 5)
    assert reason.record_total == 4
    assert "taxpayer.name" in reason.message


@pytest.mark.parametrize(
    "value",
    [None, "", " ", [], {}, False],
    ids=["none", "empty", "blank", "list", "table", "false"],
)
def test_a_missing_value_in_a_required_record_field_is_invalid(
    plugins: Plugins, value: Any
) -> None:
    decision = run(plugins, make_request(records=[record(), record(value)]))
    reason = assert_denied_only_for(decision, "record_invalid", "taxpayer.name")
    assert reason.records == (1,)


def test_zero_in_a_required_record_field_is_present(plugins: Plugins) -> None:
    decision = run(plugins, make_request(records=[record(0)]))
    assert decision.allowed is True, decision.reasons


def test_every_missing_required_field_has_its_own_reason(plugins: Plugins) -> None:
    agreement = make_agreement(
        records={"required_fields": ["taxpayer.name", "taxpayer.tin"]},
        required_checkers=[],
        checkers={},
    )
    records = [record(...), record(tin=None), record(..., tin="")]
    decision = run(plugins, make_request(records=records), agreement=agreement)
    assert [(r.code, r.field, r.records, r.record_total) for r in decision.reasons] == [
        ("record_invalid", "taxpayer.name", (0, 2), 2),
        ("record_invalid", "taxpayer.tin", (1, 2), 2),
    ]


def test_a_record_that_is_not_a_table_is_invalid(plugins: Plugins) -> None:
    decision = run(plugins, batches=[(0, [record(), "not a record", 7])])
    reason = only(decision, "record_invalid")
    assert reason.records == (1, 2)
    assert reason.record_total == 2


def test_record_indexes_are_capped_at_1000_while_the_total_counts_all(
    plugins: Plugins,
) -> None:
    bad = [record(...) for _ in range(2500)]
    batches = [(0, bad[:1000]), (1000, bad[1000:1700]), (1700, bad[1700:])]
    agreement = make_agreement(limits={})
    decision = run(plugins, agreement=agreement, batches=batches)
    reason = assert_denied_only_for(decision, "record_invalid", "taxpayer.name")
    assert reason.records == tuple(range(1000))
    assert reason.record_total == 2500


def test_record_indexes_from_later_batches_are_absolute(plugins: Plugins) -> None:
    batches = [(0, [record(), record(...)]), (2, [record(...), record()]), (4, [record(...)])]
    decision = run(plugins, batches=batches)
    reason = only(decision, "record_invalid")
    assert reason.records == (1, 2, 4)
    assert reason.record_total == 3


def test_records_carrying_a_field_that_is_not_permitted_are_denied(plugins: Plugins) -> None:
    records = [record(), record(ssn="123-45-6789"), record(), record(ssn="987-65-4321")]
    decision = run(plugins, make_request(records=records))
    reason = assert_denied_only_for(decision, "field_not_permitted", "taxpayer.ssn")
    assert reason.records == (1, 3)
    assert reason.record_total == 2


def test_records_carrying_a_prohibited_field_are_denied(plugins: Plugins) -> None:
    records = [record(), {**record(), "return": {"wages": 52000, "agi": 48000}}]
    decision = run(plugins, make_request(records=records))
    assert decision.allowed is False
    assert [(r.code, r.field, r.records, r.record_total) for r in decision.reasons] == [
        ("field_prohibited", "return.wages", (1,), 1),
        ("field_prohibited", "return.agi", (1,), 1),
    ]


def test_records_with_a_table_inside_a_list_are_checked_field_by_field(
    plugins: Plugins,
) -> None:
    records = [record(address=[dict(ADDRESS), {**ADDRESS, "county": "Sangamon"}])]
    agreement = make_agreement(required_checkers=[], checkers={})
    decision = run(plugins, make_request(records=records), agreement=agreement)
    assert decision.allowed is True, decision.reasons


def test_a_record_count_that_differs_from_the_records_sent_denies(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=3, records=[record(), record()]))
    reason = assert_denied_only_for(decision, "record_count_mismatch", "record_count")
    assert "3" in reason.message and "2" in reason.message


def test_a_record_count_that_matches_the_records_sent_is_allowed(plugins: Plugins) -> None:
    decision = run(plugins, make_request(record_count=2, records=[record(), record()]))
    assert decision.allowed is True, decision.reasons


# --- redisclosure ------------------------------------------------------------------------


def source(redisclosure: str) -> Agreement:
    return make_agreement(id="ssa-source-dua", obligations={"redisclosure": redisclosure})


def test_data_received_under_an_agreement_prohibiting_redisclosure_is_denied(
    plugins: Plugins,
) -> None:
    request = make_request(received_under=["ssa-source-dua"])
    decision = run(plugins, request, received_under={"ssa-source-dua": source("prohibited")})
    reason = assert_denied_only_for(decision, "redisclosure_prohibited", "received_under")
    assert "ssa-source-dua" in reason.message


def test_data_received_under_an_unknown_agreement_is_denied(plugins: Plugins) -> None:
    request = make_request(received_under=["nobody-knows"])
    decision = run(plugins, request, received_under={"nobody-knows": None})
    reason = assert_denied_only_for(decision, "redisclosure_prohibited", "received_under")
    assert "nobody-knows" in reason.message


def test_data_received_under_an_agreement_permitting_redisclosure_is_allowed(
    plugins: Plugins,
) -> None:
    request = make_request(received_under=["ssa-source-dua"])
    decision = run(plugins, request, received_under={"ssa-source-dua": source("permitted")})
    assert decision.allowed is True, decision.reasons


def test_each_source_prohibiting_redisclosure_is_reported(plugins: Plugins) -> None:
    request = make_request(received_under=["ssa-source-dua", "nobody-knows", "open-dua"])
    received = {
        "ssa-source-dua": source("prohibited"),
        "nobody-knows": None,
        "open-dua": source("permitted"),
    }
    decision = run(plugins, request, received_under=received)
    assert codes(decision) == ["redisclosure_prohibited", "redisclosure_prohibited"]
    assert "open-dua" not in " ".join(r.message for r in decision.reasons)


# --- checkers and candidates -------------------------------------------------------------


def test_a_required_checker_that_is_not_installed_denies(plugins: Plugins) -> None:
    agreement = make_agreement(required_checkers=["irc6103", "fisma"])
    decision = run(plugins, agreement=agreement)
    reason = assert_denied_only_for(decision, "checker_missing", None)
    assert "'fisma'" in reason.message
    assert decision.checkers == ("core", "irc6103")


def test_an_unknown_agreement_is_not_found(plugins: Plugins) -> None:
    decision = run(plugins, make_request(agreement="no-such-mou"), candidates=None)
    assert decision.allowed is False
    assert decision.agreement == "no-such-mou"
    assert decision.agreement_version is None
    assert decision.checkers == ("core",)
    (reason,) = decision.reasons
    assert (reason.code, reason.checker, reason.field) == (
        "agreement_not_found",
        "core",
        "agreement",
    )
    assert "no-such-mou" in reason.message


A_MOU = make_agreement(id="a-mou", purposes=[{"code": "audit"}])
B_MOU = make_agreement(id="b-mou")
C_MOU = make_agreement(id="c-mou")


def test_without_an_agreement_the_decision_names_the_one_that_allows(plugins: Plugins) -> None:
    candidates = [Candidate(A_MOU, 3, "active"), Candidate(B_MOU, 2, "active")]
    decision = run(plugins, make_request(agreement=None), candidates=candidates)
    assert decision.allowed is True
    assert decision.reasons == ()
    assert (decision.agreement, decision.agreement_version) == ("b-mou", 2)
    assert decision.checkers == ("core", "irc6103")


def test_without_an_agreement_the_first_allowing_candidate_by_id_is_named(
    plugins: Plugins,
) -> None:
    candidates = [Candidate(B_MOU, 1, "active"), Candidate(C_MOU, 1, "active")]
    decision = run(plugins, make_request(agreement=None), candidates=candidates)
    assert decision.allowed is True
    assert decision.agreement == "b-mou"


def test_without_an_agreement_each_candidate_says_why_it_failed(plugins: Plugins) -> None:
    candidates = [Candidate(A_MOU, 1, "active"), Candidate(B_MOU, 1, "suspended")]
    decision = run(plugins, make_request(agreement=None), candidates=candidates)
    assert decision.allowed is False
    assert decision.agreement is None
    assert decision.agreement_version is None
    assert [(r.code, r.agreement) for r in decision.reasons] == [
        ("no_matching_agreement", None),
        ("purpose_not_permitted", "a-mou"),
        ("agreement_not_active", "b-mou"),
    ]
    assert "a-mou" in decision.reasons[0].message and "b-mou" in decision.reasons[0].message
    assert decision.checkers == ("core", "irc6103")


def test_without_an_agreement_and_no_candidate_there_is_no_matching_agreement(
    plugins: Plugins,
) -> None:
    decision = run(plugins, make_request(agreement=None), candidates=[])
    assert decision.allowed is False
    assert decision.agreement is None
    (reason,) = decision.reasons
    assert (reason.code, reason.checker) == ("no_matching_agreement", "core")
    assert "irs-itin-address" in reason.message and "dhs-ice" in reason.message


def test_every_failure_is_reported_not_only_the_first(plugins: Plugins) -> None:
    request = make_request(
        purpose="marketing",
        fields=["taxpayer.name", "taxpayer.ssn"],
        request=with_elements(case_number=...),
        approvals=[],
        record_count=101,
    )
    decision = run(plugins, request, on=datetime.date(2027, 1, 1))
    assert decision.allowed is False
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("agreement_expired", "on"),
        ("purpose_not_permitted", "purpose"),
        ("field_not_permitted", "taxpayer.ssn"),
        ("request_element_missing", "request.case_number"),
        ("approval_missing", "approvals"),
        ("request_record_limit_exceeded", "record_count"),
    ]
