"""Checks of the privacy_act plugin (5 U.S.C. 552a(o)): renewals and the renewal window.

A computer matching agreement runs 2024-04-01 to 2025-09-30 (18 months); a renewal
recorded in the 3 months before expiry, without change to the program and certified by
every party, extends it by at most a year. Checks run through the engine as the service
runs them.
"""

from __future__ import annotations

import datetime
from typing import Any

import msgspec
import pytest

from registry.engine.decide import Candidate, Check
from registry.engine.evaluate import Evaluator
from registry.engine.plugins import Plugins
from registry.schemas import Agreement, CheckRequest, Decision, PartiesFile, Reason
from tests.conftest import PARTIES
from tests.plugins.test_privacy_act_lint import cma as cma_data

PARTY_MAP = {p.id: p for p in msgspec.convert(PARTIES, PartiesFile).party}
CHECKED_AT = datetime.datetime(2025, 10, 1, 8, 0, tzinfo=datetime.UTC)

EXPIRES = datetime.date(2025, 9, 30)
DAY_AFTER_EXPIRY = datetime.date(2025, 10, 1)
EXTENDS_TO = datetime.date(2026, 9, 30)

VALID_RENEWAL: dict[str, Any] = {
    "recorded": "2025-08-14",
    "extends_to": "2026-09-30",
    "changes": [],
    "certified_by": ["ssa", "state-dhs"],
}


def cma(renewals: list[dict[str, Any]] | None = None, **changes: Any) -> Agreement:
    """A computer matching agreement from SSA to a state agency, 2024-04-01 to 2025-09-30."""
    return msgspec.convert(cma_data(renewals, **changes), Agreement)


def renewal(**changes: Any) -> dict[str, Any]:
    return {**VALID_RENEWAL, **changes}


REQUEST = msgspec.convert(
    {
        "agreement": "ssa-state-cma",
        "source_system": "irs-itin-address",
        "recipient": "state-dhs",
        "purpose": "nontax-criminal-investigation",
        "fields": ["individual.ssn", "individual.name"],
        "request": {"signed_by": "Director", "case_number": "M-2025-3"},
        "approvals": [{"role": "disclosure-officer", "by": "a.jones"}],
    },
    CheckRequest,
)


def run(plugins: Plugins, agreement: Agreement, on: datetime.date) -> Decision:
    check = Check(
        Evaluator(plugins), REQUEST, on, [Candidate(agreement, 1, "active")], PARTY_MAP, {}
    )
    return check.decide(period_used={}, record_count=1, decision_id="d", checked_at=CHECKED_AT)


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


def renewal_invalid(decision: Decision) -> Reason:
    (reason,) = [r for r in decision.reasons if r.code == "privacy_act.renewal_invalid"]
    assert reason.checker == "privacy_act"
    assert reason.field == "checkers.privacy_act.renewals[0]"
    return reason


def flags(plugins: Plugins, agreement: Agreement, as_of: datetime.date) -> list[str]:
    checker = plugins.checkers["privacy_act"]
    assert checker.config is not None
    config = msgspec.convert(agreement.checkers["privacy_act"], checker.config)
    return list(checker.review_flags(agreement, config, as_of))


# --- the term ----------------------------------------------------------------------------


def test_the_privacy_act_checker_runs_on_a_matching_agreement(plugins: Plugins) -> None:
    decision = run(plugins, cma(), EXPIRES)
    assert decision.allowed is True, decision.reasons
    assert decision.checkers == ("core", "privacy_act")


def test_without_a_renewal_the_day_after_expiry_is_expired(plugins: Plugins) -> None:
    decision = run(plugins, cma(), DAY_AFTER_EXPIRY)
    assert codes(decision) == ["agreement_expired"]


def test_a_valid_renewal_allows_the_day_after_the_original_expiry(plugins: Plugins) -> None:
    decision = run(plugins, cma([VALID_RENEWAL]), DAY_AFTER_EXPIRY)
    assert decision.allowed is True, decision.reasons


def test_a_valid_renewal_allows_its_last_day(plugins: Plugins) -> None:
    decision = run(plugins, cma([VALID_RENEWAL]), EXTENDS_TO)
    assert decision.allowed is True, decision.reasons


def test_a_valid_renewal_ends_on_its_extends_to(plugins: Plugins) -> None:
    decision = run(plugins, cma([VALID_RENEWAL]), EXTENDS_TO + datetime.timedelta(days=1))
    assert decision.allowed is False
    (reason,) = decision.reasons
    assert (reason.code, reason.field) == ("agreement_expired", "on")
    assert "2026-09-30" in reason.message


def test_a_renewal_recorded_on_the_expiry_day_is_valid(plugins: Plugins) -> None:
    agreement = cma([renewal(recorded="2025-09-30")])
    assert run(plugins, agreement, DAY_AFTER_EXPIRY).allowed is True


def test_a_renewal_of_a_shorter_year_is_valid_until_its_own_end(plugins: Plugins) -> None:
    agreement = cma([renewal(extends_to="2026-03-31")])
    assert run(plugins, agreement, datetime.date(2026, 3, 31)).allowed is True
    assert codes(run(plugins, agreement, datetime.date(2026, 4, 1))) == ["agreement_expired"]


# --- invalid renewals --------------------------------------------------------------------

INVALID = [
    pytest.param(renewal(changes=["adds a wage match"]), "program changed", id="changed"),
    pytest.param(renewal(certified_by=["ssa"]), "state-dhs", id="uncertified"),
    pytest.param(renewal(recorded="2025-05-01"), "outside the 3 months", id="too-early"),
    pytest.param(renewal(recorded="2025-10-02"), "outside the 3 months", id="too-late"),
    pytest.param(renewal(extends_to="2026-10-01"), "one year at most", id="too-long"),
]


@pytest.mark.parametrize(("invalid", "why"), INVALID)
def test_an_invalid_renewal_extends_nothing_and_is_named(
    plugins: Plugins, invalid: dict[str, Any], why: str
) -> None:
    decision = run(plugins, cma([invalid]), DAY_AFTER_EXPIRY)
    assert decision.allowed is False
    assert sorted(codes(decision)) == ["agreement_expired", "privacy_act.renewal_invalid"]
    reason = renewal_invalid(decision)
    assert why in reason.message
    assert "2025-09-30" in reason.message


def test_an_invalid_renewal_names_every_problem(plugins: Plugins) -> None:
    invalid = renewal(changes=["new source"], certified_by=[])
    reason = renewal_invalid(run(plugins, cma([invalid]), DAY_AFTER_EXPIRY))
    assert "program changed" in reason.message
    assert "ssa" in reason.message and "state-dhs" in reason.message


def test_an_invalid_renewal_does_not_affect_checks_within_the_original_term(
    plugins: Plugins,
) -> None:
    agreement = cma([renewal(changes=["adds a wage match"])])
    decision = run(plugins, agreement, EXPIRES)
    assert decision.allowed is True, decision.reasons


def test_a_second_renewal_extends_nothing_further(plugins: Plugins) -> None:
    second = renewal(recorded="2025-09-01", extends_to="2026-09-30")
    agreement = cma([renewal(extends_to="2026-03-31"), second])
    decision = run(plugins, agreement, datetime.date(2026, 4, 1))
    assert decision.allowed is False
    assert sorted(codes(decision)) == ["agreement_expired", "privacy_act.renewal_invalid"]
    (reason,) = [r for r in decision.reasons if r.code == "privacy_act.renewal_invalid"]
    assert reason.field == "checkers.privacy_act.renewals[1]"
    assert "only one renewal" in reason.message


# --- the renewal window on the expiring list ---------------------------------------------


@pytest.mark.parametrize(
    "as_of",
    [datetime.date(2025, 7, 1), datetime.date(2025, 8, 14), EXPIRES],
    ids=["window-start", "mid-window", "expiry-day"],
)
def test_the_renewal_window_is_open_in_the_3_months_before_expiry(
    plugins: Plugins, as_of: datetime.date
) -> None:
    assert flags(plugins, cma(), as_of) == ["renewal_window_open"]


@pytest.mark.parametrize(
    "as_of",
    [datetime.date(2025, 1, 1), datetime.date(2025, 6, 29), DAY_AFTER_EXPIRY],
    ids=["long-before", "just-before", "after-expiry"],
)
def test_the_renewal_window_is_closed_outside_the_3_months_before_expiry(
    plugins: Plugins, as_of: datetime.date
) -> None:
    assert flags(plugins, cma(), as_of) == []


def test_the_renewal_window_closes_once_a_valid_renewal_is_recorded(plugins: Plugins) -> None:
    assert flags(plugins, cma([VALID_RENEWAL]), datetime.date(2025, 8, 20)) == []


def test_the_renewal_window_stays_open_while_only_an_invalid_renewal_is_recorded(
    plugins: Plugins,
) -> None:
    agreement = cma([renewal(certified_by=["ssa"])])
    assert flags(plugins, agreement, datetime.date(2025, 8, 20)) == ["renewal_window_open"]


def test_an_agreement_that_is_not_a_matching_agreement_has_no_renewal_window(
    plugins: Plugins,
) -> None:
    agreement = cma(kind="mou", required_checkers=[])
    assert flags(plugins, agreement, datetime.date(2025, 8, 20)) == []


def test_the_evaluator_namespaces_the_renewal_window_flag(plugins: Plugins) -> None:
    evaluator = Evaluator(plugins)
    agreement = cma()
    policy = evaluator.policy(agreement, 1)
    assert evaluator.review_flags(policy, datetime.date(2025, 8, 20)) == (
        "privacy_act.renewal_window_open",
    )
    assert evaluator.review_flags(policy, datetime.date(2025, 6, 1)) == ()
