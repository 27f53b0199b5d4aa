"""What changed between two versions of an agreement, in plain words."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from registry.engine.diff import diff
from registry.schemas import Agreement, Change
from tests.conftest import BASE_AGREEMENT, agreement_data


def make(**changes: Any) -> Agreement:
    return msgspec.convert(agreement_data(**changes), Agreement)


def section(name: str, **changes: Any) -> dict[str, Any]:
    """A copy of one section of the base agreement with some keys replaced."""
    data = copy.deepcopy(BASE_AGREEMENT[name])
    data.update(changes)
    return data


def summaries(changes: list[Change]) -> list[str]:
    return [c.summary for c in changes]


OLD = make()


def test_no_change_gives_an_empty_diff() -> None:
    assert diff(OLD, make()) == []


def test_a_reordered_list_is_no_change() -> None:
    new = make(fields=section("fields", permitted=["taxpayer.tin", "taxpayer.name",
                                                   "taxpayer.address"]))
    assert diff(OLD, new) == []


# --- purposes --------------------------------------------------------------------------------


def test_a_purpose_added_is_named() -> None:
    purposes = [*BASE_AGREEMENT["purposes"], {"code": "locate-witness", "description": "W"}]
    assert diff(OLD, make(purposes=purposes)) == [
        Change(section="purposes", summary="Purpose added: locate-witness")
    ]


def test_a_purpose_removed_is_named() -> None:
    old = make(purposes=[*BASE_AGREEMENT["purposes"], {"code": "locate-witness"}])
    assert diff(old, OLD) == [Change(section="purposes", summary="Purpose removed: locate-witness")]


def test_a_reworded_purpose_is_reported_as_reworded() -> None:
    new = make(purposes=[{"code": "nontax-criminal-investigation", "description": "Other"}])
    assert diff(OLD, new) == [
        Change(section="purposes",
               summary="Purpose nontax-criminal-investigation: description reworded")
    ]


def test_a_renamed_purpose_code_is_one_added_and_one_removed() -> None:
    new = make(purposes=[{"code": "tax-administration", "description": "Investigation"}])
    assert sorted(summaries(diff(OLD, new))) == [
        "Purpose added: tax-administration",
        "Purpose removed: nontax-criminal-investigation",
    ]


# --- fields ------------------------------------------------------------------------------------


def test_a_permitted_field_added_is_named() -> None:
    new = make(fields=section("fields", permitted=[*BASE_AGREEMENT["fields"]["permitted"],
                                                   "taxpayer.dob"]))
    assert diff(OLD, new) == [
        Change(section="fields.permitted", summary="Permitted fields added: taxpayer.dob")
    ]


def test_a_permitted_field_removed_is_named() -> None:
    new = make(fields=section("fields", permitted=["taxpayer.name", "taxpayer.address"]))
    assert diff(OLD, new) == [
        Change(section="fields.permitted", summary="Permitted fields removed: taxpayer.tin")
    ]


def test_prohibited_fields_added_and_removed_are_both_named() -> None:
    new = make(fields=section("fields", prohibited=["earnings.*"]))
    assert diff(OLD, new) == [
        Change(section="fields.prohibited", summary="Prohibited fields added: earnings.*"),
        Change(section="fields.prohibited", summary="Prohibited fields removed: return.*"),
    ]


# --- limits and other scalars --------------------------------------------------------------------


def test_a_changed_limit_gives_both_values() -> None:
    new = make(limits=section("limits", max_records_per_request=250))
    assert diff(OLD, new) == [
        Change(section="limits.max_records_per_request",
               summary="Records per request (limit) changed from 100 to 250")
    ]


def test_a_removed_limit_says_what_it_was() -> None:
    new = make(limits={"max_records_per_request": 100})
    assert summaries(diff(OLD, new)) == [
        "Records per period (limit) removed (was 1000)",
        "Limit period (days) removed (was 30)",
    ]


def test_a_new_limit_says_it_was_set() -> None:
    old = make(limits={})
    new = make(limits={"max_records_per_request": 10})
    assert diff(old, new) == [
        Change(section="limits.max_records_per_request",
               summary="Records per request (limit) set to 10")
    ]


def test_a_changed_date_is_shown_as_a_date() -> None:
    assert diff(OLD, make(expires="2027-06-30")) == [
        Change(section="expires", summary="Expiry date changed from 2026-12-31 to 2027-06-30")
    ]


def test_setting_version_effective_is_reported() -> None:
    assert diff(OLD, make(version_effective="2025-06-01")) == [
        Change(section="version_effective", summary="Version takes force set to 2025-06-01")
    ]


def test_a_changed_redisclosure_obligation_is_reported() -> None:
    new = make(obligations=section("obligations", redisclosure="permitted"))
    assert diff(OLD, new) == [
        Change(section="obligations.redisclosure",
               summary="Redisclosure changed from prohibited to permitted")
    ]


def test_a_recipient_added_is_named() -> None:
    assert diff(OLD, make(recipients=["dhs-ice", "ssa"])) == [
        Change(section="recipients", summary="Recipients added: ssa")
    ]


def test_every_difference_is_reported_not_only_the_first() -> None:
    new = make(
        title="Renamed",
        expires="2027-06-30",
        recipients=["dhs-ice", "ssa"],
        limits=section("limits", period_days=60),
    )
    assert [c.section for c in diff(OLD, new)] == [
        "title", "expires", "recipients", "limits.period_days",
    ]


# --- approvals ---------------------------------------------------------------------------------


def test_a_new_approval_says_how_many_of_which_role() -> None:
    new = make(request=section("request", approvals=[
        {"role": "disclosure-officer", "count": 1}, {"role": "supervisor", "count": 2}]))
    assert diff(OLD, new) == [
        Change(section="request.approvals", summary="Approval required: 2 × supervisor")
    ]


def test_a_dropped_approval_is_reported() -> None:
    new = make(request=section("request", approvals=[]))
    assert diff(OLD, new) == [
        Change(section="request.approvals",
               summary="Approval no longer required: disclosure-officer")
    ]


def test_a_changed_approval_count_gives_both_counts() -> None:
    new = make(request=section("request", approvals=[{"role": "disclosure-officer",
                                                      "count": 2}]))
    assert diff(OLD, new) == [
        Change(section="request.approvals",
               summary="Approvals by disclosure-officer changed from 1 to 2")
    ]


# --- status changes ----------------------------------------------------------------------------


def test_a_status_change_added_gives_status_day_and_reason() -> None:
    new = make(status_changes=[{"on": "2025-11-21", "status": "suspended",
                                "reason": "court order"}])
    assert diff(OLD, new) == [
        Change(section="status_changes",
               summary="Status change added: suspended on 2025-11-21 (court order)")
    ]


def test_a_status_change_removed_is_reported() -> None:
    old = make(status_changes=[{"on": "2025-11-21", "status": "suspended"}])
    assert diff(old, OLD) == [
        Change(section="status_changes", summary="Status change removed: suspended on 2025-11-21")
    ]


# --- checker tables ----------------------------------------------------------------------------


def test_a_checker_table_added_is_reported() -> None:
    new = make(checkers={**BASE_AGREEMENT["checkers"],
                         "privacy_act": {"transmitted_to_congress": "2024-12-01"}})
    assert diff(OLD, new) == [
        Change(section="checkers.privacy_act", summary="Terms for checker privacy_act added")
    ]


def test_a_checker_table_removed_is_reported() -> None:
    assert diff(OLD, make(checkers={})) == [
        Change(section="checkers.irc6103", summary="Terms for checker irc6103 removed")
    ]


def test_a_changed_checker_term_names_the_checker_and_the_key() -> None:
    new = make(checkers={"irc6103": {**BASE_AGREEMENT["checkers"]["irc6103"],
                                     "address_field": "taxpayer.mailing_address"}})
    assert diff(OLD, new) == [
        Change(section="checkers.irc6103",
               summary="irc6103 address_field changed from taxpayer.address "
                       "to taxpayer.mailing_address")
    ]


def test_an_unchanged_checker_table_is_no_change() -> None:
    new = make(checkers=copy.deepcopy(BASE_AGREEMENT["checkers"]))
    assert diff(OLD, new) == []


def test_a_term_added_to_a_checker_table_is_shown_in_plain_words() -> None:
    new = make(checkers={"irc6103": {**BASE_AGREEMENT["checkers"]["irc6103"],
                                     "recipient_safeguards": ["compliant"]}})
    (change,) = diff(OLD, new)
    assert change.section == "checkers.irc6103"
    assert "recipient_safeguards" in change.summary
    assert "compliant" in change.summary
    assert "None" not in change.summary


def test_a_list_term_of_a_checker_table_is_shown_in_plain_words() -> None:
    statutes = ["8 U.S.C. 1253(a)(1)", "18 U.S.C. 1001"]
    new = make(checkers={"irc6103": {**BASE_AGREEMENT["checkers"]["irc6103"],
                                     "permitted_statutes": statutes}})
    (change,) = diff(OLD, new)
    assert "18 U.S.C. 1001" in change.summary
    assert "[" not in change.summary and "'" not in change.summary
