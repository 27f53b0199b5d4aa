"""Lint: the core checker's rules, cross-file rules, plugin tables and plugin hooks."""

from __future__ import annotations

import datetime
import logging
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomli_w

from registry.documents import collect, read
from registry.engine import plugins as plugins_module
from registry.engine.lint import has_errors, lint
from registry.engine.plugins import PluginError, Plugins, build_plugins
from registry.schemas import Agreement, PartiesFile, Party, Problem
from tests.conftest import AGREEMENTS, BASE_AGREEMENT, PARTIES, agreement_data

Lint = Callable[..., list[Problem]]


def lint_folder(
    folder: Path, plugins: Plugins, known: Mapping[str, Party] | None = None
) -> list[Problem]:
    files, problems = collect([folder])
    assert problems == []
    return lint([read(f) for f in files], plugins, known)


@pytest.fixture
def lint_agreements(write_files: Callable[..., Path], plugins: Plugins) -> Lint:
    """Write agreements (and the test parties) to a folder and lint it."""

    def run(
        *agreements: dict[str, Any],
        parties: dict[str, Any] | None = PARTIES,
        raw: dict[str, str] | None = None,
        known: Mapping[str, Party] | None = None,
        using: Plugins | None = None,
    ) -> list[Problem]:
        folder = write_files(agreements=list(agreements), parties=parties, raw=raw)
        return lint_folder(folder, using or plugins, known)

    return run


def of_rule(problems: list[Problem], rule: str) -> list[tuple[str, str | None]]:
    """(severity, field) of every problem of ``rule``."""
    return [(p.severity, p.field) for p in problems if p.rule == rule]


def one(problems: list[Problem], rule: str) -> Problem:
    (found,) = [p for p in problems if p.rule == rule]
    return found


def toml_text(data: dict[str, Any]) -> str:
    """An agreement file as TOML text."""
    agreement = msgspec.convert(data, Agreement)
    return tomli_w.dumps(msgspec.to_builtins(agreement, builtin_types=(datetime.date,)))


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return numbers[occurrence - 1]


def plugin_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    for stem, source in files.items():
        (folder / f"{stem}.py").write_text(textwrap.dedent(source))
    return folder


def test_the_base_agreement_lints_without_any_problem(lint_agreements: Lint) -> None:
    assert lint_agreements(BASE_AGREEMENT) == []


def test_the_shipped_agreements_lint_without_any_problem(plugins: Plugins) -> None:
    assert lint_folder(AGREEMENTS, plugins) == []


# --- core: dates ---------------------------------------------------------------------------


def test_expiry_before_the_effective_date_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(expires="2024-12-31"))
    assert of_rule(problems, "core.dates") == [("error", "expires")]
    assert has_errors(problems)


def test_a_one_day_term_is_fine(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(expires="2025-01-01", review_notice_days=0))
    assert of_rule(problems, "core.dates") == []


def test_version_effective_before_the_effective_date_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(version_effective="2024-12-31"))
    assert of_rule(problems, "core.dates") == [("warning", "version_effective")]


def test_version_effective_after_expiry_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(version_effective="2027-01-01"))
    assert of_rule(problems, "core.dates") == [("warning", "version_effective")]
    assert "never takes force" in one(problems, "core.dates").message


def test_version_effective_within_the_term_is_fine(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(version_effective="2026-12-31"))
    assert of_rule(problems, "core.dates") == []


def test_review_notice_as_long_as_the_term_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(review_notice_days=730))  # 2025 + 2026
    assert of_rule(problems, "core.dates") == [("warning", "review_notice_days")]


def test_review_notice_one_day_shorter_than_the_term_is_fine(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(review_notice_days=729))
    assert of_rule(problems, "core.dates") == []


# --- core: status changes --------------------------------------------------------------------


def changes(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"on": on, "status": status} for on, status in pairs]


def test_a_valid_sequence_of_status_changes_is_fine(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(
        ("2025-03-01", "suspended"), ("2025-04-01", "active"), ("2025-09-01", "terminated"))))
    assert problems == []


def test_two_status_changes_on_one_day_are_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(
        ("2025-06-01", "suspended"), ("2025-06-01", "terminated"))))
    assert of_rule(problems, "core.status_changes") == [
        ("error", "status_changes[0].on"), ("error", "status_changes[1].on"),
    ]


def test_status_changes_out_of_date_order_are_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(
        ("2025-09-01", "suspended"), ("2025-06-01", "active"))))
    assert ("warning", "status_changes[1].on") in of_rule(problems, "core.status_changes")


def test_a_status_change_outside_the_term_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(
        ("2027-01-01", "suspended"))))
    assert of_rule(problems, "core.status_changes") == [("warning", "status_changes[0].on")]


def test_a_status_change_after_termination_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(
        ("2025-06-01", "terminated"), ("2025-07-01", "active"))))
    assert of_rule(problems, "core.status_changes") == [("error", "status_changes[1].status")]
    assert "termination" in one(problems, "core.status_changes").message


def test_a_terminated_base_status_allows_no_change(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status="terminated", status_changes=changes(
        ("2025-07-01", "active"))))
    assert of_rule(problems, "core.status_changes") == [("error", "status_changes[0].status")]


def test_going_back_to_draft_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(("2025-06-01", "draft"))))
    assert of_rule(problems, "core.status_changes") == [("error", "status_changes[0].status")]
    assert "draft" in one(problems, "core.status_changes").message


def test_a_change_to_the_status_already_in_force_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(status_changes=changes(("2025-06-01", "active"))))
    assert of_rule(problems, "core.status_changes") == [("warning", "status_changes[0].status")]


# --- core: parties -----------------------------------------------------------------------------


def test_an_unknown_discloser_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(discloser="nobody"))
    assert of_rule(problems, "core.unknown_party") == [("error", "discloser")]
    problem = one(problems, "core.unknown_party")
    assert "'nobody'" in problem.message
    assert problem.hint is not None and "dhs-ice" in problem.hint


def test_an_unknown_recipient_is_an_error_at_its_index(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(recipients=["dhs-ice", "nobody"]))
    assert of_rule(problems, "core.unknown_party") == [("error", "recipients[1]")]


def test_a_discloser_that_is_also_a_recipient_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(recipients=["dhs-ice", "irs"]))
    assert of_rule(problems, "core.parties") == [("warning", "recipients[1]")]


def test_a_repeated_recipient_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(recipients=["dhs-ice", "dhs-ice"]))
    assert of_rule(problems, "core.duplicate") == [("warning", "recipients[1]")]


def test_a_repeated_source_system_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(source_systems=["a", "b", "a"]))
    assert of_rule(problems, "core.duplicate") == [("warning", "source_systems[2]")]


# --- core: lists that must not be empty --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes_", "field"),
    [
        ({"recipients": []}, "recipients"),
        ({"source_systems": []}, "source_systems"),
        ({"legal_authority": []}, "legal_authority"),
        ({"purposes": []}, "purposes"),
        ({"fields": {"permitted": [], "prohibited": ["return.*"]}}, "fields.permitted"),
    ],
)
def test_an_empty_list_that_allows_nothing_is_an_error(
    lint_agreements: Lint, changes_: dict[str, Any], field: str
) -> None:
    problems = lint_agreements(agreement_data(**changes_))
    assert of_rule(problems, "core.missing") == [("error", field)]


def test_a_repeated_purpose_code_is_an_error(lint_agreements: Lint) -> None:
    purposes = [{"code": "a"}, {"code": "b"}, {"code": "a", "description": "again"}]
    problems = lint_agreements(agreement_data(purposes=purposes))
    assert of_rule(problems, "core.duplicate") == [("error", "purposes[2].code")]


# --- core: fields and records --------------------------------------------------------------------

PERMITTED = BASE_AGREEMENT["fields"]["permitted"]


def test_a_repeated_permitted_field_is_a_warning(lint_agreements: Lint) -> None:
    fields = {"permitted": [*PERMITTED, "taxpayer.name"], "prohibited": ["return.*"]}
    problems = lint_agreements(agreement_data(fields=fields))
    assert of_rule(problems, "core.duplicate") == [("warning", "fields.permitted[3]")]


def test_a_field_both_permitted_and_prohibited_is_an_error(lint_agreements: Lint) -> None:
    fields = {"permitted": [*PERMITTED, "return.wages"], "prohibited": ["return.*"]}
    problems = lint_agreements(agreement_data(fields=fields))
    assert of_rule(problems, "core.field_conflict") == [("error", "fields.permitted[3]")]
    assert "'return.*'" in one(problems, "core.field_conflict").message


def test_a_required_record_field_that_is_not_permitted_is_an_error(lint_agreements: Lint) -> None:
    records = {"required_fields": ["taxpayer.name", "taxpayer.dob"], "subject_key": "taxpayer.tin"}
    problems = lint_agreements(agreement_data(records=records))
    assert of_rule(problems, "core.records") == [("error", "records.required_fields[1]")]


def test_a_required_record_field_covered_by_a_parent_is_fine(lint_agreements: Lint) -> None:
    records = {"required_fields": ["taxpayer.address.zip"], "subject_key": "taxpayer.tin"}
    problems = lint_agreements(agreement_data(records=records))
    assert of_rule(problems, "core.records") == []


def test_a_required_record_field_that_is_prohibited_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(
        fields={"permitted": ["taxpayer"], "prohibited": ["return.*", "taxpayer.ssn"]},
        records={"required_fields": ["taxpayer.name", "taxpayer.ssn"],
                 "subject_key": "taxpayer.tin"},
    ))
    assert of_rule(problems, "core.records") == [("error", "records.required_fields[1]")]
    assert "prohibited" in one(problems, "core.records").message


def test_a_subject_key_that_is_not_permitted_is_a_warning(lint_agreements: Lint) -> None:
    records = {"required_fields": ["taxpayer.name"], "subject_key": "taxpayer.ssn"}
    problems = lint_agreements(agreement_data(records=records))
    assert of_rule(problems, "core.records") == [("warning", "records.subject_key")]


# --- core: limits ------------------------------------------------------------------------------


def test_a_period_limit_without_a_period_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(limits={"max_records_per_period": 1000}))
    assert of_rule(problems, "core.limits") == [("error", "limits.period_days")]


def test_a_period_without_a_period_limit_is_a_warning(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(limits={"period_days": 30}))
    assert of_rule(problems, "core.limits") == [("warning", "limits.period_days")]


def test_a_request_limit_above_the_period_limit_is_a_warning(lint_agreements: Lint) -> None:
    limits = {"max_records_per_request": 1001, "max_records_per_period": 1000, "period_days": 30}
    problems = lint_agreements(agreement_data(limits=limits))
    assert of_rule(problems, "core.limits") == [("warning", "limits.max_records_per_request")]


def test_a_request_limit_equal_to_the_period_limit_is_fine(lint_agreements: Lint) -> None:
    limits = {"max_records_per_request": 1000, "max_records_per_period": 1000, "period_days": 30}
    assert of_rule(lint_agreements(agreement_data(limits=limits)), "core.limits") == []


# --- core: request ------------------------------------------------------------------------------

REQUEST = BASE_AGREEMENT["request"]


def test_authorized_signers_without_a_required_signature_is_a_warning(
    lint_agreements: Lint,
) -> None:
    problems = lint_agreements(agreement_data(request={**REQUEST, "required": ["case_number"]}))
    assert of_rule(problems, "core.request") == [("warning", "request.required")]


def test_a_repeated_request_element_is_a_warning(lint_agreements: Lint) -> None:
    request = {**REQUEST, "required": ["signed_by", "case_number", "signed_by"]}
    problems = lint_agreements(agreement_data(request=request))
    assert of_rule(problems, "core.duplicate") == [("warning", "request.required[2]")]


def test_a_repeated_approval_role_is_an_error(lint_agreements: Lint) -> None:
    approvals = [{"role": "disclosure-officer"}, {"role": "disclosure-officer", "count": 2}]
    problems = lint_agreements(agreement_data(request={**REQUEST, "approvals": approvals}))
    assert of_rule(problems, "core.duplicate") == [("error", "request.approvals[1].role")]


# --- core: checkers -----------------------------------------------------------------------------


def test_a_required_checker_that_is_not_installed_is_an_error(lint_agreements: Lint) -> None:
    core_only = build_plugins(entry_points=False)
    problems = lint_agreements(BASE_AGREEMENT, using=core_only)
    assert of_rule(problems, "core.checker_missing") == [("error", "required_checkers[0]")]
    problem = one(problems, "core.checker_missing")
    assert "'irc6103'" in problem.message
    assert problem.hint == "installed checkers: core"


# --- placement ----------------------------------------------------------------------------------


def test_a_checker_problem_is_placed_on_the_line_of_its_table(
    lint_agreements: Lint,
) -> None:
    text = toml_text(agreement_data(id="placed", limits={"max_records_per_period": 5}))
    problems = lint_agreements(parties=PARTIES, raw={"placed.toml": text})
    problem = one(problems, "core.limits")
    assert problem.file is not None and problem.file.endswith("placed.toml")
    assert problem.line == line_of(text, "[limits]")


def test_problems_are_sorted_by_file_then_line(lint_agreements: Lint) -> None:
    problems = lint_agreements(
        agreement_data(id="a-first", discloser="nobody", recipients=["nobody-else"]),
        agreement_data(id="b-second", expires="2024-01-01"),
    )
    keys = [(p.file, p.line or 0) for p in problems]
    assert len(keys) >= 3
    assert keys == sorted(keys)


def test_a_document_with_structural_problems_is_not_linted_further(
    lint_agreements: Lint,
) -> None:
    text = toml_text(agreement_data(id="broken", discloser="nobody")).replace(
        'kind = "mou"', 'kind = "memo"')
    problems = lint_agreements(raw={"broken.toml": text})
    assert [(p.rule, p.field) for p in problems] == [("schema", "kind")]


# --- cross-file rules -----------------------------------------------------------------------------

ANOTHER_IRS = '[[party]]\nid = "irs"\nname = "Another IRS"\naddress = "Somewhere"\n'


def test_a_party_id_defined_in_two_files_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(raw={"more-parties.toml": ANOTHER_IRS})
    problem = one(problems, "duplicate_id")
    assert problem.severity == "error"
    assert problem.file is not None and problem.file.endswith("/parties.toml")
    assert problem.field == "party[0].id"
    assert problem.line == 2
    assert "more-parties.toml" in problem.message


def test_a_party_id_defined_twice_in_one_file_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(parties=None, raw={"parties.toml": ANOTHER_IRS + ANOTHER_IRS})
    problem = one(problems, "duplicate_id")
    assert (problem.field, problem.line) == ("party[1].id", 6)


def test_an_agreement_id_defined_in_two_files_is_an_error_on_the_second(
    lint_agreements: Lint,
) -> None:
    copy = toml_text(agreement_data(title="A copy", recipients=["nobody"]))
    problems = lint_agreements(BASE_AGREEMENT, raw={"zz-copy.toml": copy})
    problem = one(problems, "duplicate_id")
    assert problem.file is not None and problem.file.endswith("zz-copy.toml")
    assert (problem.severity, problem.field, problem.line) == ("error", "id", 1)
    assert "test-mou.toml" in problem.message
    assert of_rule(problems, "core.unknown_party") == []  # the copy is not linted further


def test_parties_from_another_file_of_the_same_run_are_known(lint_agreements: Lint) -> None:
    problems = lint_agreements(agreement_data(recipients=["dhs-ice", "ssa"]))
    assert of_rule(problems, "core.unknown_party") == []


def test_without_any_parties_every_party_is_unknown(lint_agreements: Lint) -> None:
    problems = lint_agreements(BASE_AGREEMENT, parties=None)
    assert of_rule(problems, "core.unknown_party") == [
        ("error", "discloser"), ("error", "recipients[0]"),
    ]


def test_parties_already_stored_are_known(lint_agreements: Lint) -> None:
    known = {p.id: p for p in msgspec.convert(PARTIES, PartiesFile).party}
    assert lint_agreements(BASE_AGREEMENT, parties=None, known=known) == []


# --- checker tables -------------------------------------------------------------------------------


def with_tables(tables: str, **changes: Any) -> str:
    return toml_text(agreement_data(checkers=None, **changes)) + "\n" + textwrap.dedent(tables)


def test_a_table_no_installed_plugin_claims_is_an_error(lint_agreements: Lint) -> None:
    text = with_tables("""\
        [checkers.irc6103]
        permitted_statutes = ["8 U.S.C. 1253(a)(1)"]
        address_field = "taxpayer.address"

        [checkers.nope]
        x = 1
        """)
    problems = lint_agreements(raw={"a.toml": text})
    problem = one(problems, "unclaimed_table")
    assert (problem.severity, problem.field) == ("error", "checkers.nope")
    assert problem.line == line_of(text, "[checkers.nope]")
    assert problem.hint is not None and "irc6103" in problem.hint


def test_a_table_for_a_checker_that_takes_none_is_an_error(lint_agreements: Lint) -> None:
    problems = lint_agreements(
        agreement_data(checkers={**BASE_AGREEMENT["checkers"], "core": {"x": 1}}))
    problem = one(problems, "unclaimed_table")
    assert problem.field == "checkers.core"
    assert "takes no table" in problem.message


def test_a_plugin_table_is_checked_against_the_plugins_schema(lint_agreements: Lint) -> None:
    text = with_tables("""\
        [checkers.irc6103]
        address_field = "taxpayer.address"
        permitted_statutes = "8 U.S.C. 1253(a)(1)"
        """)
    problems = lint_agreements(raw={"a.toml": text})
    problem = one(problems, "schema")
    assert problem.severity == "error"
    assert problem.field == "checkers.irc6103.permitted_statutes"
    assert problem.line == line_of(text, "permitted_statutes =")
    assert "expected 'array', got 'str'" in problem.message


def test_an_unknown_key_in_a_plugin_table_suggests_the_closest(lint_agreements: Lint) -> None:
    text = with_tables("""\
        [checkers.irc6103]
        permitted_statutes = ["8 U.S.C. 1253(a)(1)"]
        adress_field = "taxpayer.address"
        """)
    problem = one(lint_agreements(raw={"a.toml": text}), "schema")
    assert problem.field == "checkers.irc6103.adress_field"
    assert problem.line == line_of(text, "adress_field")
    assert problem.hint == "did you mean 'address_field'?"


def test_a_plugin_table_error_in_a_nested_array_of_tables_names_its_entry(
    lint_agreements: Lint,
) -> None:
    cma = agreement_data(kind="cma", required_checkers=["privacy_act"], discloser="ssa",
                         recipients=["state-dhs"], effective="2025-03-01",
                         expires="2026-08-31")
    text = with_tables("""\
        [checkers.privacy_act]
        transmitted_to_congress = 2025-01-02

        [[checkers.privacy_act.renewals]]
        recorded = 2026-07-01
        extends_to = 2027-08-31
        certified_by = ["ssa", "state-dhs"]

        [[checkers.privacy_act.renewals]]
        recorded = "someday"
        extends_to = 2027-08-31
        """, **{k: v for k, v in cma.items() if k != "checkers"})
    problems = lint_agreements(raw={"a.toml": text})
    problem = one(problems, "schema")
    assert problem.field == "checkers.privacy_act.renewals[1].recorded"
    assert problem.line == line_of(text, 'recorded = "someday"')


def test_a_plugin_whose_table_fails_its_schema_runs_no_lint_rules(lint_agreements: Lint) -> None:
    # irc6103 would otherwise flag the permitted 'return' field (6103(i)(2))
    text = with_tables("""\
        [checkers.irc6103]
        address_field = 5
        """, fields={"permitted": ["taxpayer", "return"]})
    problems = lint_agreements(raw={"a.toml": text})
    assert [p.rule for p in problems if p.rule.startswith("irc6103")] == []
    assert of_rule(problems, "plugin_failed") == []
    assert of_rule(problems, "schema") == [("error", "checkers.irc6103.address_field")]


# --- plugins from a plugins folder ----------------------------------------------------------------

BOOM = """\
    from registry import Checker, hookimpl

    class Boom(Checker):
        name = "boom"

        def lint(self, agreement, config, context):
            raise RuntimeError("kaput")

    @hookimpl
    def register_checkers():
        return [Boom()]
    """

HOUSE_RULES = """\
    from registry import Problem, hookimpl

    @hookimpl
    def lint_agreement(agreement):
        if agreement.title.startswith("Agency"):
            return []
        return [Problem(severity="warning", rule="house.title", field="title",
                        message="titles start with 'Agency'", hint="'Agency ...'")]
    """


def test_a_plugin_whose_lint_raises_gives_an_error_problem(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    with_boom = build_plugins(plugin_dir(tmp_path, boom_plugin=BOOM))
    problems = lint_agreements(agreement_data(discloser="nobody"), using=with_boom)
    problem = one(problems, "plugin_failed")
    assert problem.severity == "error"
    assert problem.file is not None and problem.file.endswith("test-mou.toml")
    assert "'boom'" in problem.message
    assert "RuntimeError: kaput" in problem.message
    assert of_rule(problems, "core.unknown_party") == [("error", "discloser")]  # others still run


def test_a_plugin_whose_lint_returns_something_else_than_problems_gives_an_error_problem(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    sloppy = BOOM.replace('raise RuntimeError("kaput")', 'return [{"rule": "x"}]')
    plugins = build_plugins(plugin_dir(tmp_path, sloppy_plugin=sloppy))
    problems = lint_agreements(BASE_AGREEMENT, using=plugins)
    assert of_rule(problems, "plugin_failed") == [("error", None)]
    assert "'boom'" in one(problems, "plugin_failed").message


def test_the_lint_agreement_hook_of_a_plugin_file_adds_problems_on_their_line(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    with_house = build_plugins(plugin_dir(tmp_path, house_rules=HOUSE_RULES))
    text = toml_text(BASE_AGREEMENT)
    problems = lint_agreements(raw={"test-mou.toml": text}, using=with_house)
    problem = one(problems, "house.title")
    assert problem.severity == "warning"
    assert problem.field == "title"
    assert problem.file is not None and problem.file.endswith("test-mou.toml")
    assert problem.line == line_of(text, "title =")


def test_the_lint_agreement_hook_is_quiet_when_its_rule_holds(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    with_house = build_plugins(plugin_dir(tmp_path, house_rules=HOUSE_RULES))
    problems = lint_agreements(agreement_data(title="Agency memorandum"), using=with_house)
    assert problems == []


def test_a_hook_on_a_fresh_manager_does_not_leak_into_other_managers(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    build_plugins(plugin_dir(tmp_path, house_rules=HOUSE_RULES))
    assert lint_agreements(BASE_AGREEMENT) == []


def test_the_lint_agreement_hook_receives_the_lint_context(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    source = """\
        from registry import Problem, hookimpl

        @hookimpl
        def lint_agreement(context, agreement):
            return [Problem(severity="error", rule="house.context", field="limits.period_days",
                            message=",".join(sorted(context.parties)) + "|"
                                    + ",".join(sorted(context.checkers)))]
        """
    plugins = build_plugins(plugin_dir(tmp_path, context_rules=source))
    text = toml_text(BASE_AGREEMENT)
    problem = one(lint_agreements(raw={"test-mou.toml": text}, using=plugins), "house.context")
    assert problem.message == "dhs-ice,irs,ssa,state-dhs|core,irc6103,privacy_act"
    assert problem.line == line_of(text, "period_days")


def test_a_lint_agreement_hook_that_raises_gives_an_error_problem(
    tmp_path: Path, lint_agreements: Lint
) -> None:
    source = """\
        from registry import hookimpl

        @hookimpl
        def lint_agreement(agreement):
            raise ValueError("house rules broke")
        """
    plugins = build_plugins(plugin_dir(tmp_path, broken_rules=source))
    problem = one(lint_agreements(BASE_AGREEMENT, using=plugins), "plugin_failed")
    assert problem.severity == "error"
    assert "broken_rules.py" in problem.message
    assert "ValueError: house rules broke" in problem.message


# --- loading a plugins folder -------------------------------------------------------------------


def test_a_checker_in_a_plugins_folder_is_installed(tmp_path: Path) -> None:
    plugins = build_plugins(plugin_dir(tmp_path, boom_plugin=BOOM))
    assert plugins.names == {"core", "irc6103", "privacy_act", "boom"}
    (info,) = [i for i in plugins.describe() if "boom" in i.checkers]
    assert info.source.startswith("file:")
    assert info.source.endswith("boom_plugin.py")


@pytest.mark.parametrize(
    "source", ['raise ImportError("no such library")', "def broken(:\n"],
    ids=["raises", "syntax-error"],
)
def test_a_plugin_file_that_fails_to_import_is_a_plugin_error_naming_it(
    tmp_path: Path, source: str
) -> None:
    folder = plugin_dir(tmp_path, ok_plugin=BOOM, bad_plugin=source)
    with pytest.raises(PluginError, match=r"bad_plugin\.py"):
        build_plugins(folder)


def test_a_plugin_file_slow_to_import_is_named_in_a_warning_while_the_start_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(plugins_module, "SLOW_IMPORT_SECONDS", 0.1)
    folder = plugin_dir(tmp_path, quick_plugin=BOOM, slow_plugin="import time\ntime.sleep(0.5)\n")
    with caplog.at_level(logging.WARNING, logger="registry.plugins"):
        plugins = build_plugins(folder)
    assert "boom" in plugins.names  # the start went on once the import returned
    warned = [r.getMessage() for r in caplog.records if r.name == "registry.plugins"]
    assert warned, "no warning while a plugin took 0.5 s to import"
    assert all("slow_plugin.py" in m and "still importing" in m for m in warned)


def test_two_checkers_with_the_same_name_are_a_plugin_error(tmp_path: Path) -> None:
    folder = plugin_dir(tmp_path, first_twin=BOOM, second_twin=BOOM)
    with pytest.raises(PluginError, match="two checkers are named 'boom'"):
        build_plugins(folder)


def test_a_plugin_file_reusing_a_shipped_checker_name_is_a_plugin_error(tmp_path: Path) -> None:
    folder = plugin_dir(tmp_path, impostor=BOOM.replace('name = "boom"', 'name = "irc6103"'))
    with pytest.raises(PluginError, match="'irc6103'"):
        build_plugins(folder)


def test_a_checker_without_a_name_is_a_plugin_error(tmp_path: Path) -> None:
    folder = plugin_dir(tmp_path, nameless=BOOM.replace('name = "boom"', 'name = ""'))
    with pytest.raises(PluginError, match="contributed a checker named ''"):
        build_plugins(folder)


def test_a_checker_name_no_agreement_could_use_is_a_plugin_error(tmp_path: Path) -> None:
    folder = plugin_dir(tmp_path, shouting=BOOM.replace('name = "boom"', 'name = "Boom-1"'))
    with pytest.raises(PluginError, match="named 'Boom-1': a checker name is lowercase"):
        build_plugins(folder)


def test_a_misspelled_hook_is_a_plugin_error(tmp_path: Path) -> None:
    source = BOOM.replace("def register_checkers", "def register_checker")
    with pytest.raises(PluginError, match="register_checker"):
        build_plugins(plugin_dir(tmp_path, misspelled=source))


def test_a_missing_plugins_folder_is_a_plugin_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="does not exist"):
        build_plugins(tmp_path / "nowhere")
