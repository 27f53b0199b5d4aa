"""Lint rules of the irc6103 plugin (26 U.S.C. 6103)."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomli_w

from registry.documents import collect, read
from registry.engine.lint import lint
from registry.engine.plugins import Plugins
from registry.schemas import Agreement, Problem
from tests.conftest import BASE_AGREEMENT, PARTIES, agreement_data

Lint = Callable[..., list[Problem]]
TABLE = BASE_AGREEMENT["checkers"]["irc6103"]


@pytest.fixture
def lint_one(write_files: Callable[..., Path], plugins: Plugins) -> Lint:
    """Lint one agreement (as TOML text) next to the parties; only irc6103 problems."""

    def run(data: dict[str, Any], parties: dict[str, Any] = PARTIES) -> list[Problem]:
        folder = write_files(parties=parties, raw={"a.toml": toml_text(data)})
        files, problems = collect([folder])
        assert problems == []
        found = lint([read(f) for f in files], plugins)
        return [p for p in found if p.rule.startswith("irc6103.")]

    return run


def toml_text(data: dict[str, Any]) -> str:
    agreement = msgspec.convert(data, Agreement)
    return tomli_w.dumps(msgspec.to_builtins(agreement, builtin_types=(datetime.date,)))


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def rules(problems: list[Problem]) -> list[tuple[str, str, str | None]]:
    return [(p.severity, p.rule, p.field) for p in problems]


def fields(*permitted: str) -> dict[str, Any]:
    return {"permitted": list(permitted), "prohibited": []}


def table(**changes: Any) -> dict[str, Any]:
    return {"irc6103": {**TABLE, **changes}}


def test_the_base_agreement_has_no_irc6103_problem(lint_one: Lint) -> None:
    assert lint_one(BASE_AGREEMENT) == []


# --- 6103(i)(2): taxpayer return information -------------------------------------------------


def test_permitting_return_information_under_6103i2_is_an_error(lint_one: Lint) -> None:
    data = agreement_data(fields=fields("taxpayer.name", "taxpayer.address", "return.wages"))
    problems = lint_one(data)
    assert rules(problems) == [
        ("error", "irc6103.taxpayer_return_information", "fields.permitted[2]")
    ]
    assert "'return.wages'" in problems[0].message
    assert "6103(i)(2)" in problems[0].message


def test_permitting_a_parent_of_return_information_is_an_error(lint_one: Lint) -> None:
    problems = lint_one(agreement_data(fields=fields("taxpayer.name", "taxpayer.address",
                                                     "return")))
    assert rules(problems) == [
        ("error", "irc6103.taxpayer_return_information", "fields.permitted[2]")
    ]
    assert "'return.*'" in problems[0].message


def test_a_field_that_only_looks_like_return_information_is_fine(lint_one: Lint) -> None:
    problems = lint_one(agreement_data(fields=fields("taxpayer.name", "taxpayer.address",
                                                     "returns_filed", "tax_return")))
    assert problems == []


def test_return_information_is_detected_whatever_the_spacing_of_the_citation(
    lint_one: Lint,
) -> None:
    data = agreement_data(legal_authority=["26 U.S.C. 6103 (i) (2)"],
                          fields=fields("taxpayer.name", "taxpayer.address", "return.agi"))
    assert [p.rule for p in lint_one(data)] == ["irc6103.taxpayer_return_information"]


def test_return_information_may_be_permitted_under_another_authority(lint_one: Lint) -> None:
    data = agreement_data(legal_authority=["26 U.S.C. 6103(d)"],
                          fields=fields("taxpayer.name", "taxpayer.address", "return.wages"))
    assert lint_one(data) == []


def test_the_return_information_patterns_come_from_the_table(lint_one: Lint) -> None:
    data = agreement_data(
        fields=fields("taxpayer.name", "taxpayer.address", "filed.schedule_c", "return.x"),
        checkers=table(taxpayer_return_information=["filed.*"]),
    )
    assert rules(lint_one(data)) == [
        ("error", "irc6103.taxpayer_return_information", "fields.permitted[2]")
    ]


def test_the_rule_applies_even_without_a_table(lint_one: Lint) -> None:
    data = agreement_data(required_checkers=[], checkers={},
                          fields=fields("taxpayer.name", "return"))
    assert rules(lint_one(data)) == [
        ("error", "irc6103.taxpayer_return_information", "fields.permitted[1]")
    ]


def test_the_problem_is_on_the_line_of_the_permitted_list(
    write_files: Callable[..., Path], plugins: Plugins
) -> None:
    text = toml_text(agreement_data(fields=fields("taxpayer.name", "taxpayer.address",
                                                  "return")))
    folder = write_files(raw={"a.toml": text})
    files, _ = collect([folder])
    (problem,) = [p for p in lint([read(f) for f in files], plugins)
                  if p.rule == "irc6103.taxpayer_return_information"]
    assert problem.line == line_of(text, "permitted =")


# --- the [checkers.irc6103] table ------------------------------------------------------------


def test_a_missing_table_when_irc6103_is_required_is_an_error(lint_one: Lint) -> None:
    assert rules(lint_one(agreement_data(checkers={}))) == [
        ("error", "irc6103.table_missing", "required_checkers")
    ]


def test_a_missing_table_when_irc6103_is_not_required_is_fine(lint_one: Lint) -> None:
    assert lint_one(agreement_data(required_checkers=[], checkers={})) == []


def test_an_address_field_that_is_not_permitted_is_an_error(lint_one: Lint) -> None:
    data = agreement_data(checkers=table(address_field="taxpayer.mailing_address"))
    problems = lint_one(data)
    assert rules(problems) == [
        ("error", "irc6103.address_field", "checkers.irc6103.address_field")
    ]
    assert "'taxpayer.mailing_address'" in problems[0].message


def test_an_address_field_covered_by_a_permitted_parent_is_fine(lint_one: Lint) -> None:
    data = agreement_data(checkers=table(address_field="taxpayer.address.street"))
    assert lint_one(data) == []


def test_an_address_field_error_is_on_its_line(
    write_files: Callable[..., Path], plugins: Plugins
) -> None:
    text = toml_text(agreement_data(checkers=table(address_field="taxpayer.home")))
    files, _ = collect([write_files(raw={"a.toml": text})])
    (problem,) = [p for p in lint([read(f) for f in files], plugins)
                  if p.rule == "irc6103.address_field"]
    assert problem.line == line_of(text, "address_field =")


def test_a_6103i2_agreement_without_an_address_field_is_a_warning(lint_one: Lint) -> None:
    checkers = {"irc6103": {"permitted_statutes": TABLE["permitted_statutes"]}}
    assert rules(lint_one(agreement_data(checkers=checkers))) == [
        ("warning", "irc6103.address_field", "checkers.irc6103")
    ]


def test_an_agreement_under_another_authority_needs_no_address_field(lint_one: Lint) -> None:
    data = agreement_data(legal_authority=["26 U.S.C. 6103(d)"],
                          checkers={"irc6103": {"permitted_statutes": ["x"]}})
    assert lint_one(data) == []


def test_no_permitted_statutes_when_required_is_a_warning(lint_one: Lint) -> None:
    assert rules(lint_one(agreement_data(checkers=table(permitted_statutes=[])))) == [
        ("warning", "irc6103.statutes", "checkers.irc6103.permitted_statutes")
    ]


# --- safeguards ----------------------------------------------------------------------------------


def test_a_recipient_without_a_safeguard_review_is_a_warning(lint_one: Lint) -> None:
    problems = lint_one(agreement_data(recipients=["dhs-ice", "state-dhs"]))
    assert rules(problems) == [("warning", "irc6103.safeguards", "recipients[1]")]
    assert "'state-dhs'" in problems[0].message


def test_a_recipient_with_a_safeguard_review_is_fine(lint_one: Lint) -> None:
    parties: dict[str, Any] = copy.deepcopy(PARTIES)
    parties["party"][3]["safeguards"] = {"status": "cap_accepted", "reviewed": "2025-01-01"}
    assert lint_one(agreement_data(recipients=["dhs-ice", "state-dhs"]), parties) == []


def test_an_unknown_recipient_gets_no_safeguards_warning(lint_one: Lint) -> None:
    assert lint_one(agreement_data(recipients=["dhs-ice", "nobody"])) == []
