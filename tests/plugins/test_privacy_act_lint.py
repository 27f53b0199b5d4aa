"""Lint rules of the privacy_act plugin (5 U.S.C. 552a(o), computer matching agreements)."""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomli_w

from registry.documents import collect, read
from registry.engine.lint import has_errors, lint
from registry.engine.plugins import Plugins
from registry.schemas import Agreement, Problem
from tests.conftest import agreement_data

Lint = Callable[..., list[Problem]]

VALID_RENEWAL: dict[str, Any] = {
    "recorded": "2025-08-14",   # within the 3 months before 2025-09-30
    "extends_to": "2026-09-30",  # one year past `expires`
    "changes": [],
    "certified_by": ["ssa", "state-dhs"],
}


def cma(renewals: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    """A computer matching agreement: 2024-04-01 to 2025-09-30 (18 months)."""
    table: dict[str, Any] = {"transmitted_to_congress": "2024-02-01"}
    if renewals is not None:
        table["renewals"] = renewals
    data = {
        "id": "ssa-state-cma",
        "kind": "cma",
        "effective": "2024-04-01",
        "expires": "2025-09-30",
        "discloser": "ssa",
        "recipients": ["state-dhs"],
        "legal_authority": ["5 U.S.C. 552a(o)"],
        "required_checkers": ["privacy_act"],
        "fields": {"permitted": ["individual.ssn", "individual.name"]},
        "records": {"required_fields": ["individual.ssn"], "subject_key": "individual.ssn"},
        "checkers": {"privacy_act": table},
        **changes,
    }
    return agreement_data(**data)


def toml_text(data: dict[str, Any]) -> str:
    agreement = msgspec.convert(data, Agreement)
    return tomli_w.dumps(msgspec.to_builtins(agreement, builtin_types=(datetime.date,)))


@pytest.fixture
def lint_all(write_files: Callable[..., Path], plugins: Plugins) -> Lint:
    def run(data: dict[str, Any] | None = None, text: str | None = None) -> list[Problem]:
        folder = write_files(raw={"cma.toml": text if text is not None else toml_text(data or {})})
        files, problems = collect([folder])
        assert problems == []
        return lint([read(f) for f in files], plugins)

    return run


@pytest.fixture
def lint_one(lint_all: Lint) -> Lint:
    """Only the privacy_act problems of one agreement."""

    def run(data: dict[str, Any]) -> list[Problem]:
        return [p for p in lint_all(data) if p.rule.startswith("privacy_act.")]

    return run


def rules(problems: list[Problem]) -> list[tuple[str, str, str | None]]:
    return [(p.severity, p.rule, p.field) for p in problems]


def test_a_valid_matching_agreement_has_no_problem_at_all(lint_all: Lint) -> None:
    assert lint_all(cma(renewals=[VALID_RENEWAL])) == []


def test_an_mou_that_does_not_require_privacy_act_is_not_checked(lint_one: Lint) -> None:
    data = cma(kind="mou", required_checkers=[], expires="2030-01-01", checkers={})
    assert lint_one(data) == []


def test_a_cma_is_checked_even_when_privacy_act_is_not_required(lint_one: Lint) -> None:
    assert rules(lint_one(cma(required_checkers=[], expires="2025-10-01"))) == [
        ("error", "privacy_act.term", "expires")
    ]


def test_an_mou_that_requires_privacy_act_is_checked(lint_one: Lint) -> None:
    assert rules(lint_one(cma(kind="mou", expires="2025-10-01"))) == [
        ("error", "privacy_act.term", "expires")
    ]


# --- 18-month term -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effective", "longest"),
    [
        ("2024-04-01", "2025-09-30"),
        ("2024-01-15", "2025-07-14"),
        ("2024-08-31", "2026-02-27"),  # 2026-02-31 clamps to 2026-02-28, minus one day
        ("2022-08-31", "2024-02-28"),  # 2024-02-29 (leap year), minus one day
        ("2023-09-01", "2025-02-28"),
    ],
)
def test_a_term_of_exactly_18_months_is_fine(lint_one: Lint, effective: str, longest: str) -> None:
    data = cma(effective=effective, expires=longest,
               checkers={"privacy_act": {"transmitted_to_congress": "2020-01-01"}})
    assert lint_one(data) == []


@pytest.mark.parametrize(
    ("effective", "too_late"),
    [
        ("2024-04-01", "2025-10-01"),
        ("2024-01-15", "2025-07-15"),
        ("2024-08-31", "2026-02-28"),
        ("2022-08-31", "2024-02-29"),
        ("2023-09-01", "2025-03-01"),
    ],
)
def test_a_term_one_day_over_18_months_is_an_error(
    lint_one: Lint, effective: str, too_late: str
) -> None:
    data = cma(effective=effective, expires=too_late,
               checkers={"privacy_act": {"transmitted_to_congress": "2020-01-01"}})
    problems = lint_one(data)
    assert rules(problems) == [("error", "privacy_act.term", "expires")]
    longest = datetime.date.fromisoformat(too_late) - datetime.timedelta(days=1)
    assert problems[0].hint is not None and str(longest) in problems[0].hint


# --- 30 days after transmittal to Congress -------------------------------------------------------


def test_taking_effect_30_days_after_transmittal_is_fine(lint_one: Lint) -> None:
    data = cma(checkers={"privacy_act": {"transmitted_to_congress": "2024-03-02"}})
    assert lint_one(data) == []  # 2024-03-02 + 30 days = 2024-04-01


def test_taking_effect_29_days_after_transmittal_is_an_error(lint_one: Lint) -> None:
    data = cma(checkers={"privacy_act": {"transmitted_to_congress": "2024-03-03"}})
    problems = lint_one(data)
    assert rules(problems) == [("error", "privacy_act.congress_wait", "effective")]
    assert problems[0].hint == "on or after 2024-04-02"


def test_a_missing_transmittal_date_is_an_error(lint_one: Lint) -> None:
    assert rules(lint_one(cma(checkers={}))) == [
        ("error", "privacy_act.transmittal_missing",
         "checkers.privacy_act.transmitted_to_congress"),
    ]


# --- renewals ------------------------------------------------------------------------------------


def renewal(**changes: Any) -> dict[str, Any]:
    return {**VALID_RENEWAL, **changes}


def invalid(problems: list[Problem]) -> list[tuple[str, str | None]]:
    return [(p.severity, p.field) for p in problems if p.rule == "privacy_act.renewal_invalid"]


def test_a_valid_renewal_gives_no_problem(lint_one: Lint) -> None:
    assert lint_one(cma(renewals=[VALID_RENEWAL])) == []


def test_a_renewal_on_the_day_the_window_opens_is_valid(lint_one: Lint) -> None:
    assert lint_one(cma(renewals=[renewal(recorded="2025-06-30")])) == []


def test_a_renewal_on_the_expiry_day_is_valid(lint_one: Lint) -> None:
    assert lint_one(cma(renewals=[renewal(recorded="2025-09-30")])) == []


def test_a_renewal_before_the_3_month_window_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(recorded="2025-06-29")]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]
    assert "outside the 3 months before expiry" in problems[0].message


def test_a_renewal_after_expiry_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(recorded="2025-10-01")]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]
    assert "outside the 3 months before expiry" in problems[0].message


def test_a_renewal_of_exactly_one_year_is_valid(lint_one: Lint) -> None:
    assert lint_one(cma(renewals=[renewal(extends_to="2026-09-30")])) == []


def test_a_renewal_extending_more_than_a_year_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(extends_to="2026-10-01")]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]
    assert "one year at most" in problems[0].message


def test_a_renewal_that_extends_nothing_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(extends_to="2025-09-30")]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]


def test_a_renewal_with_program_changes_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(changes=["adds Medicare Part D data"])]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]
    assert "adds Medicare Part D data" in problems[0].message


def test_a_renewal_without_every_partys_certification_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(certified_by=["ssa"])]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]
    assert "no written certification from state-dhs" in problems[0].message


def test_the_discloser_must_certify_a_renewal_too(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[renewal(certified_by=["state-dhs"])]))
    assert "no written certification from ssa" in problems[0].message


def test_every_recipient_must_certify_a_renewal(lint_one: Lint) -> None:
    data = cma(recipients=["state-dhs", "irs"], renewals=[renewal()])
    problems = lint_one(data)
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[0]")]
    assert "no written certification from irs" in problems[0].message


def test_a_second_renewal_is_invalid(lint_one: Lint) -> None:
    problems = lint_one(cma(renewals=[VALID_RENEWAL, VALID_RENEWAL]))
    assert invalid(problems) == [("warning", "checkers.privacy_act.renewals[1]")]
    assert "only one renewal" in problems[0].message


def test_a_renewal_with_several_faults_reports_each(lint_one: Lint) -> None:
    data = cma(renewals=[renewal(recorded="2025-01-01", changes=["new data"],
                                 certified_by=[])])
    messages = [p.message for p in lint_one(data)]
    assert len(messages) == 3
    assert any("outside the 3 months" in m for m in messages)
    assert any("the program changed" in m for m in messages)
    assert any("no written certification from ssa, state-dhs" in m for m in messages)


def test_an_invalid_renewal_is_only_a_warning(lint_all: Lint) -> None:
    problems = lint_all(cma(renewals=[renewal(certified_by=["ssa"])]))
    assert problems and not has_errors(problems)


def test_an_invalid_renewal_is_placed_on_its_own_table(lint_all: Lint) -> None:
    text = toml_text(cma(checkers={})) + textwrap.dedent("""\

        [checkers.privacy_act]
        transmitted_to_congress = 2024-02-01

        [[checkers.privacy_act.renewals]]
        recorded = 2025-08-14
        extends_to = 2026-09-30
        certified_by = ["ssa", "state-dhs"]

        [[checkers.privacy_act.renewals]]
        recorded = 2025-08-15
        extends_to = 2026-09-30
        certified_by = ["ssa", "state-dhs"]
        """)
    (problem,) = lint_all(text=text)
    assert problem.rule == "privacy_act.renewal_invalid"
    assert problem.field == "checkers.privacy_act.renewals[1]"
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, 1) if "[[checkers.privacy_act.renewals]]" in line]
    assert problem.line == headers[1]
