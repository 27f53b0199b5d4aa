"""Checks of the irc6103 plugin (26 U.S.C. 6103): statutes, safeguards and addresses.

Driven through the engine as the service drives it, with the base test agreement (which
requires irc6103, permits "8 U.S.C. 1253(a)(1)" and checks ``taxpayer.address``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import pytest

from registry.engine.decide import Candidate, Check
from registry.engine.evaluate import Evaluator
from registry.engine.plugins import Plugins
from registry.schemas import Agreement, CheckRequest, Decision, PartiesFile, Party, Reason
from tests.conftest import PARTIES, agreement_data

ON = datetime.date(2025, 6, 1)
CHECKED_AT = datetime.datetime(2025, 6, 1, 9, 30, tzinfo=datetime.UTC)
PARTY_MAP = {p.id: p for p in msgspec.convert(PARTIES, PartiesFile).party}
ADDRESS = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
STATUTE = "8 U.S.C. 1253(a)(1)"


def make_agreement(**changes: Any) -> Agreement:
    return msgspec.convert(agreement_data(**changes), Agreement)


AGREEMENT = make_agreement()


def make_request(statute: Any = STATUTE, **changes: Any) -> CheckRequest:
    elements: dict[str, Any] = {"signed_by": "Director", "case_number": "C-2025-17"}
    if statute is not ...:
        elements["statutory_authority"] = statute
    data: dict[str, Any] = {
        "agreement": "test-mou",
        "source_system": "irs-itin-address",
        "recipient": "dhs-ice",
        "purpose": "nontax-criminal-investigation",
        "fields": ["taxpayer.name", "taxpayer.address"],
        "request": elements,
        "approvals": [{"role": "disclosure-officer", "by": "a.jones"}],
    }
    data.update(changes)
    return msgspec.convert(data, CheckRequest)


def record(address: Any = ..., name: str = "Ana Diaz") -> dict[str, Any]:
    person: dict[str, Any] = {"name": name, "tin": "900-70-0001"}
    if address is not ...:
        person["address"] = address
    return {"taxpayer": person}


def run(
    plugins: Plugins,
    request: CheckRequest | None = None,
    *,
    agreement: Agreement = AGREEMENT,
    parties: Mapping[str, Party] = PARTY_MAP,
    batches: Sequence[tuple[int, Sequence[Any]]] = (),
) -> Decision:
    request = request or make_request()
    check = Check(Evaluator(plugins), request, ON, [Candidate(agreement, 1, "active")], parties, {})
    for start, batch in batches:
        check.feed(start, batch)
    return check.decide(
        period_used={},
        record_count=sum(len(b) for _, b in batches),
        decision_id="d",
        checked_at=CHECKED_AT,
    )


def irc6103(decision: Decision) -> list[Reason]:
    """The irc6103 reasons, after checking that no other checker objected."""
    assert [r for r in decision.reasons if r.checker != "irc6103"] == []
    return [r for r in decision.reasons if r.checker == "irc6103"]


def one(decision: Decision, code: str, field: str) -> Reason:
    assert decision.allowed is False
    (reason,) = irc6103(decision)
    assert (reason.code, reason.field) == (code, field)
    return reason


# --- statute_not_permitted ---------------------------------------------------------------


def test_a_permitted_statute_is_allowed(plugins: Plugins) -> None:
    decision = run(plugins)
    assert decision.allowed is True, decision.reasons
    assert "irc6103" in decision.checkers


def test_a_missing_statutory_authority_is_not_permitted(plugins: Plugins) -> None:
    decision = run(plugins, make_request(statute=...))
    reason = one(decision, "irc6103.statute_not_permitted", "request.statutory_authority")
    assert STATUTE in reason.message


@pytest.mark.parametrize("statute", [None, "", [], False], ids=repr)
def test_an_empty_statutory_authority_is_not_permitted(plugins: Plugins, statute: Any) -> None:
    decision = run(plugins, make_request(statute=statute))
    one(decision, "irc6103.statute_not_permitted", "request.statutory_authority")


@pytest.mark.parametrize(
    "statute",
    ["18 U.S.C. 1001", "8 U.S.C. 1253(a)(2)", "8 U.S.C. 1253", "8 U.S.C. 1253(a)(1)(B)", 1253],
    ids=repr,
)
def test_a_statute_not_in_the_list_is_not_permitted(plugins: Plugins, statute: Any) -> None:
    decision = run(plugins, make_request(statute=statute))
    reason = one(decision, "irc6103.statute_not_permitted", "request.statutory_authority")
    assert repr(statute) in reason.message


def test_a_list_with_one_statute_not_permitted_is_not_permitted(plugins: Plugins) -> None:
    decision = run(plugins, make_request(statute=[STATUTE, "18 U.S.C. 1001"]))
    one(decision, "irc6103.statute_not_permitted", "request.statutory_authority")


def test_a_list_of_permitted_statutes_is_allowed(plugins: Plugins) -> None:
    agreement = make_agreement(
        checkers={"irc6103": {"permitted_statutes": [STATUTE, "18 U.S.C. 1546(a)"]}}
    )
    decision = run(plugins, make_request(statute=[STATUTE, "18 USC 1546(a)"]), agreement=agreement)
    assert decision.allowed is True, decision.reasons


@pytest.mark.parametrize(
    "statute",
    ["8 USC 1253(a)(1)", "8 u.s.c. 1253(a)(1)", "8 U.S.C.1253(a)(1)", " 8  U. S. C. 1253(A)(1) "],
)
def test_a_statute_equal_modulo_spaces_dots_and_case_is_permitted(
    plugins: Plugins, statute: str
) -> None:
    decision = run(plugins, make_request(statute=statute))
    assert decision.allowed is True, decision.reasons


def test_an_agreement_with_no_permitted_statute_permits_none(plugins: Plugins) -> None:
    agreement = make_agreement(checkers={"irc6103": {"address_field": "taxpayer.address"}})
    decision = run(plugins, agreement=agreement)
    reason = one(decision, "irc6103.statute_not_permitted", "request.statutory_authority")
    assert "none" in reason.message


# --- safeguards_not_met ------------------------------------------------------------------


def parties_with(recipient: str, safeguards: dict[str, Any] | None) -> dict[str, Party]:
    parties = dict(PARTY_MAP)
    data: dict[str, Any] = {
        "id": recipient,
        "name": "Recipient",
        "address": "1 Main St, Dover, DE 19901",
    }
    if safeguards is not None:
        data["safeguards"] = safeguards
    parties[recipient] = msgspec.convert(data, Party)
    return parties


def test_a_recipient_without_a_safeguard_review_is_refused(plugins: Plugins) -> None:
    decision = run(plugins, parties=parties_with("dhs-ice", None))
    reason = one(decision, "irc6103.safeguards_not_met", "recipient")
    assert "not on record" in reason.message


def test_a_recipient_that_is_not_a_known_party_is_refused(plugins: Plugins) -> None:
    parties = {k: v for k, v in PARTY_MAP.items() if k != "dhs-ice"}
    decision = run(plugins, parties=parties)
    one(decision, "irc6103.safeguards_not_met", "recipient")


def test_a_recipient_with_open_findings_is_refused(plugins: Plugins) -> None:
    parties = parties_with("dhs-ice", {"status": "open_findings", "reviewed": "2025-03-01"})
    decision = run(plugins, parties=parties)
    reason = one(decision, "irc6103.safeguards_not_met", "recipient")
    assert "open_findings" in reason.message


@pytest.mark.parametrize("status", ["compliant", "cap_accepted"])
def test_a_recipient_in_an_accepted_safeguard_status_is_allowed(
    plugins: Plugins, status: str
) -> None:
    decision = run(plugins, parties=parties_with("dhs-ice", {"status": status}))
    assert decision.allowed is True, decision.reasons


def test_the_agreement_chooses_which_safeguard_statuses_it_accepts(plugins: Plugins) -> None:
    table = {"permitted_statutes": [STATUTE], "recipient_safeguards": ["compliant"]}
    agreement = make_agreement(checkers={"irc6103": table})
    parties = parties_with("dhs-ice", {"status": "cap_accepted"})
    decision = run(plugins, agreement=agreement, parties=parties)
    one(decision, "irc6103.safeguards_not_met", "recipient")


# --- address_incomplete ------------------------------------------------------------------

COMPLETE = [
    pytest.param(dict(ADDRESS), id="dict"),
    pytest.param({**ADDRESS, "zip": "62701-1234"}, id="dict-zip+4"),
    pytest.param({**ADDRESS, "street": "PO Box 7"}, id="dict-po-box"),
    pytest.param({**ADDRESS, "street": "P.O. Box 7"}, id="dict-p.o.-box"),
    pytest.param({**ADDRESS, "street": "1600 Pennsylvania Ave NW"}, id="dict-long-street"),
    pytest.param({**ADDRESS, "street": "221B Baker St"}, id="dict-lettered-number"),
    pytest.param({**ADDRESS, "city": "St. Louis", "state": "MO"}, id="dict-dotted-city"),
    pytest.param("12 Main St, Springfield, IL 62701", id="one-line"),
    pytest.param("12 Main St, Springfield, IL 62701-1234", id="one-line-zip+4"),
    pytest.param("PO Box 7, Springfield, IL 62701", id="one-line-po-box"),
]

INCOMPLETE = [
    pytest.param(..., id="absent"),
    pytest.param("62701", id="zip-alone"),
    pytest.param("62701-1234", id="zip+4-alone"),
    pytest.param({"zip": "62701"}, id="dict-zip-alone"),
    pytest.param("Unknown", id="unknown"),
    pytest.param("Unknown Address", id="unknown-address"),
    pytest.param("Failed to Provide", id="failed-to-provide"),
    pytest.param("Not Provided", id="not-provided"),
    pytest.param("None", id="none-text"),
    pytest.param("N/A", id="n/a"),
    pytest.param("Null", id="null-text"),
    pytest.param("Don't care", id="dont-care"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("Unknown Address, Springfield, IL 62701", id="one-line-placeholder-street"),
    pytest.param({**ADDRESS, "street": "Unknown Address"}, id="dict-placeholder-street"),
    pytest.param({**ADDRESS, "street": "Not Provided"}, id="dict-not-provided-street"),
    pytest.param({**ADDRESS, "city": "N/A"}, id="dict-placeholder-city"),
    pytest.param({**ADDRESS, "street": "Main St"}, id="street-without-number"),
    pytest.param("Main St, Springfield, IL 62701", id="one-line-street-without-number"),
    pytest.param({**ADDRESS, "street": "12"}, id="number-without-name"),
    pytest.param({**ADDRESS, "street": "123 Not Provided"}, id="number-and-placeholder"),
    pytest.param({**ADDRESS, "street": "1 Unknown Address"}, id="number-and-unknown-address"),
    pytest.param("0 Don't care, Springfield, IL 62701", id="one-line-number-and-placeholder"),
    pytest.param("12, Springfield, IL 62701", id="one-line-number-without-name"),
    pytest.param({**ADDRESS, "street": "PO Box"}, id="po-box-without-number"),
    pytest.param({k: v for k, v in ADDRESS.items() if k != "street"}, id="missing-street"),
    pytest.param({k: v for k, v in ADDRESS.items() if k != "city"}, id="missing-city"),
    pytest.param({k: v for k, v in ADDRESS.items() if k != "state"}, id="missing-state"),
    pytest.param({k: v for k, v in ADDRESS.items() if k != "zip"}, id="missing-zip"),
    pytest.param("12 Main St, Springfield, IL", id="one-line-missing-zip"),
    pytest.param("12 Main St, IL 62701", id="one-line-missing-city"),
    pytest.param("12 Main St", id="street-line-only"),
    pytest.param({**ADDRESS, "state": "ZZ"}, id="bad-state"),
    pytest.param({**ADDRESS, "state": "Illinoise"}, id="state-not-a-code"),
    pytest.param("12 Main St, Springfield, ZZ 62701", id="one-line-bad-state"),
    pytest.param({**ADDRESS, "zip": "6270"}, id="short-zip"),
    pytest.param({**ADDRESS, "zip": "ABCDE"}, id="letters-zip"),
    pytest.param("900-70-0001", id="tin"),
    pytest.param("900700001", id="tin-digits"),
    pytest.param({**ADDRESS, "street": "900-70-0001"}, id="tin-as-street"),
    pytest.param("900-70-0001, Springfield, IL 62701", id="one-line-tin-as-street"),
    pytest.param(62701, id="int"),
    pytest.param(900700001, id="tin-int"),
    pytest.param(None, id="null"),
    pytest.param(True, id="bool"),
    pytest.param(["12 Main St", "Springfield", "IL", "62701"], id="list"),
    pytest.param({**ADDRESS, "zip": 62701}, id="int-zip"),
    pytest.param({**ADDRESS, "street": 12}, id="int-street"),
    pytest.param({}, id="empty-dict"),
]


@pytest.mark.parametrize("address", COMPLETE)
def test_a_complete_address_is_accepted(plugins: Plugins, address: Any) -> None:
    decision = run(plugins, batches=[(0, [record(address)])])
    assert decision.allowed is True, decision.reasons


@pytest.mark.parametrize("address", INCOMPLETE)
def test_an_incomplete_address_is_refused_with_its_record_index(
    plugins: Plugins, address: Any
) -> None:
    records = [record(ADDRESS), record(address), record(ADDRESS)]
    decision = run(plugins, batches=[(0, records)])
    reason = one(decision, "irc6103.address_incomplete", "taxpayer.address")
    assert reason.records == (1,)
    assert reason.record_total == 1


def test_address_indexes_are_absolute_across_batches(plugins: Plugins) -> None:
    first = [record(ADDRESS), record("62701"), record(ADDRESS), record("Unknown Address")]
    second = [record(ADDRESS), record(ADDRESS), record({"zip": "62701"})]
    decision = run(plugins, batches=[(10_000, first), (10_004, second)])
    reason = one(decision, "irc6103.address_incomplete", "taxpayer.address")
    assert reason.records == (10_001, 10_003, 10_006)
    assert reason.record_total == 3


def test_addresses_are_not_checked_without_an_address_field(plugins: Plugins) -> None:
    agreement = make_agreement(checkers={"irc6103": {"permitted_statutes": [STATUTE]}})
    decision = run(plugins, agreement=agreement, batches=[(0, [record("Unknown Address")])])
    assert decision.allowed is True, decision.reasons


def test_the_address_field_is_read_from_the_agreement_table(plugins: Plugins) -> None:
    table = {"permitted_statutes": [STATUTE], "address_field": "taxpayer.mailing"}
    agreement = make_agreement(
        checkers={"irc6103": table},
        fields={"permitted": ["taxpayer.name", "taxpayer.tin", "taxpayer.mailing"]},
    )
    good = {"taxpayer": {"name": "Ana Diaz", "tin": "900-70-0001", "mailing": dict(ADDRESS)}}
    bad = {"taxpayer": {"name": "Bo Li", "tin": "900-70-0002", "mailing": "N/A"}}
    request = make_request(fields=["taxpayer.name", "taxpayer.mailing"])
    decision = run(plugins, request, agreement=agreement, batches=[(0, [good, bad])])
    reason = one(decision, "irc6103.address_incomplete", "taxpayer.mailing")
    assert reason.records == (1,)
