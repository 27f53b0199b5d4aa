"""The ``registry`` command: exit statuses, messages and output formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main
from tests.conftest import AGREEMENTS, ROOT, agreement_data


@pytest.fixture
def run(db_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["--database", db_url, *args], catch_exceptions=False)

    return invoke


def test_lint_shipped_agreements_is_clean(run) -> None:
    result = run("agreements", "lint", str(AGREEMENTS))
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output


def test_lint_reports_file_line_and_field_and_exits_2(run, write_files) -> None:
    folder = write_files(
        raw={
            "typo.toml": """\
        id = "typo-mou"
        title = "Typo"
        kind = "mou"
        status = "active"
        effective = 2025-01-01
        expires = 2026-01-01
        discloser = "irs"
        recipients = ["dhs-ice"]
        source_systems = ["s"]
        legal_authority = ["x"]

        [[purposes]]
        code = "p"

        [fields]
        permited = ["a"]
        """
        }
    )
    result = run("agreements", "lint", str(folder))
    assert result.exit_code == 2
    assert (
        f"{folder / 'typo.toml'}:16: fields.permited: error: unknown field 'permited'"
        in result.output
    )
    assert "did you mean 'permitted'?" in result.output


def test_lint_prints_every_problem_of_a_file_full_of_unknown_keys_in_order(
    run, write_files
) -> None:
    # 600 unknown keys: 1,200 lines with their hints, printed 1,000 lines at a time; the
    # first 100 near misses of a table get a "did you mean", the rest the valid fields.
    keys = [f"title{i:03d}" for i in range(600)]
    folder = write_files([agreement_data(id="noisy-mou", **dict.fromkeys(keys, 1))])
    result = run("agreements", "lint", str(folder))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    named = [line for line in lines if "error: unknown field" in line]
    assert [line.split("'")[1] for line in named] == keys
    hints = [line for line in lines if line.startswith("    hint: ")]
    assert len(hints) == 600
    assert sum("did you mean 'title'?" in h for h in hints) == 100
    assert all("valid fields here: id, title" in h for h in hints[100:])
    assert lines[-1] == "600 errors, 0 warnings in 2 files"


def test_lint_with_only_warnings_exits_0(run, write_files) -> None:
    folder = write_files([agreement_data(review_notice_days=5000)])
    result = run("agreements", "lint", str(folder))
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "review_notice_days" in result.output


def test_lint_json_lists_problems(run, write_files) -> None:
    folder = write_files([agreement_data(expires="2024-01-01")])
    result = run("agreements", "lint", "--format", "json", str(folder))
    assert result.exit_code == 2
    problems = json.loads(result.stdout)
    assert {"rule": "core.dates", "field": "expires", "severity": "error"}.items() <= problems[
        0
    ].items()


def test_lint_of_a_missing_path_exits_2(run, tmp_path: Path) -> None:
    result = run("agreements", "lint", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_load_list_show_and_reload(run) -> None:
    result = run("agreements", "load", str(AGREEMENTS))
    assert result.exit_code == 0, result.output
    assert "agreement irs-ice-2025-mou: created, version 1" in result.output
    again = run("agreements", "load", str(AGREEMENTS))
    assert "0 changed" in again.output
    listed = json.loads(run("agreements", "list", "--on", "2025-06-01", "--format", "json").stdout)
    assert {"irs-ice-2025-mou", "irs-usao-edva-6103i2"} <= {row["id"] for row in listed}
    shown = run("agreements", "show", "irs-ice-2025-mou")
    assert shown.exit_code == 0
    assert 'id = "irs-ice-2025-mou"' in shown.output
    assert "effective = 2025-04-07" in shown.output


def test_shown_toml_loads_back_unchanged(run, tmp_path: Path) -> None:
    run("agreements", "load", str(AGREEMENTS))
    shown = run("agreements", "show", "irs-ice-2025-mou").output
    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "irs-ice-2025-mou.toml").write_text(shown)
    result = run("agreements", "load", str(folder))
    assert result.exit_code == 0, result.output
    assert "irs-ice-2025-mou: unchanged (version 1)" in result.output


def test_load_with_errors_writes_nothing_and_exits_2(run, write_files) -> None:
    folder = write_files([agreement_data(), agreement_data(id="other-mou", discloser="nobody")])
    result = run("agreements", "load", str(folder))
    assert result.exit_code == 2
    assert "discloser 'nobody' is not a known party" in result.output
    assert "nothing was loaded" in result.output
    assert run("agreements", "list", "--format", "json").stdout.strip() == "[]"


def test_amend_then_diff_versions_and_history(run, write_files) -> None:
    run("agreements", "load", str(write_files([agreement_data()])))
    changed = agreement_data(
        purposes=[{"code": "nontax-criminal-investigation"}, {"code": "locate-witness"}]
    )
    result = run("agreements", "load", "--by", "a.lawyer", str(write_files([changed])))
    assert "agreement test-mou: amended, version 2" in result.output
    diff = run("agreements", "diff", "test-mou")
    assert "version 1 → version 2" in diff.output
    assert "Purpose added: locate-witness" in diff.output
    assert "Purpose nontax-criminal-investigation: description reworded" in diff.output
    versions = json.loads(run("agreements", "versions", "test-mou", "--format", "json").stdout)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["recorded_by"] == "a.lawyer"
    history = json.loads(run("agreements", "history", "test-mou", "--format", "json").stdout)
    assert history[1]["summary"].startswith("version 2")


def test_status_commands(run, write_files) -> None:
    run("agreements", "load", str(write_files([agreement_data()])))
    result = run(
        "agreements", "suspend", "test-mou", "--on", "2025-05-01", "--reason", "court order"
    )
    assert result.exit_code == 0, result.output
    assert "test-mou: suspended from 2025-05-01 (court order)" in result.output
    again = run("agreements", "suspend", "test-mou", "--on", "2025-05-02", "--reason", "x")
    assert again.exit_code == 2
    assert "status that day is suspended" in again.output
    run("agreements", "terminate", "test-mou", "--on", "2025-06-01", "--reason", "ended")
    denied = run("agreements", "reinstate", "test-mou", "--on", "2025-07-01", "--reason", "x")
    assert denied.exit_code == 2
    assert "terminated" in denied.output


def test_bad_date_exits_2_naming_it(run) -> None:
    result = run("expiring", "--as-of", "2025-13-01")
    assert result.exit_code == 2
    assert "'2025-13-01' is not a date: expected YYYY-MM-DD" in result.output


def test_unknown_agreement_exits_2(run) -> None:
    result = run("agreements", "show", "nope")
    assert result.exit_code == 2
    assert "no agreement 'nope'" in result.output


def test_expiring_json(run) -> None:
    run("agreements", "load", str(AGREEMENTS))
    rows = json.loads(
        run("expiring", "--within", "200", "--as-of", "2026-11-28", "--format", "json").stdout
    )
    assert rows[0]["agreement"] == "irs-ice-2025-mou"
    assert rows[0]["due"] == "expiring" and rows[0]["days_left"] == 129
    assert [r["expires"] for r in rows] == sorted(r["expires"] for r in rows)


def test_plugins_list_shows_shipped_checkers(run) -> None:
    rows = json.loads(run("plugins", "list", "--format", "json").stdout)
    assert {r["checker"] for r in rows} >= {"core", "irc6103", "privacy_act"}


def test_db_upgrade_and_current(run) -> None:
    first = run("db", "upgrade")
    assert first.exit_code == 0
    assert "schema upgraded from empty to" in first.output
    assert "schema already at revision" in run("db", "upgrade").output
    assert "(run `registry db upgrade`)" not in run("db", "current").output


def test_unreachable_database_exits_3(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--database", "postgresql+psycopg://nobody@127.0.0.1:1/none", "agreements", "list"]
    )
    assert result.exit_code == 3
    assert "cannot reach the database" in result.output


def test_committed_json_schemas_are_current(run) -> None:
    schema = run("agreements", "schema").stdout
    assert schema == (ROOT / "docs" / "agreement.schema.json").read_text()
    parties = run("agreements", "schema", "--parties").stdout
    assert parties == (ROOT / "docs" / "parties.schema.json").read_text()


def test_load_with_expect_refuses_a_stale_amendment(run, write_files) -> None:
    run("agreements", "load", str(write_files([agreement_data()])))
    run("agreements", "load", str(write_files([agreement_data(title="Someone else's")])))
    result = run(
        "agreements",
        "load",
        "--expect",
        "test-mou=1",
        str(write_files([agreement_data(title="Mine")])),
    )
    assert result.exit_code == 2
    assert "is at version 2, not 1" in result.output
    ok = run(
        "agreements",
        "load",
        "--expect",
        "test-mou=2",
        str(write_files([agreement_data(title="Mine")])),
    )
    assert ok.exit_code == 0, ok.output
    assert "test-mou: amended, version 3" in ok.output


@pytest.mark.parametrize("expect", ["test-mou", "test-mou=\u00b2", "test-mou=" + "9" * 5000])
def test_load_with_a_malformed_expect_exits_2(run, write_files, expect: str) -> None:
    result = run("agreements", "load", "--expect", expect, str(write_files([])))
    assert result.exit_code == 2
    assert "expected ID=VERSION" in result.output


def test_hidden_files_in_a_folder_are_not_agreements(run, write_files) -> None:
    folder = write_files([agreement_data()], raw={".taplo.toml": "[formatting]\nalign = true\n"})
    result = run("agreements", "lint", str(folder))
    assert result.exit_code == 0, result.output


def test_lint_problem_lines_are_never_wrapped(run, write_files) -> None:
    long_reason = "x" * 400
    data = agreement_data(
        status_changes=[
            {"on": "2025-02-01", "status": "suspended", "reason": long_reason},
            {"on": "2025-02-01", "status": "active", "reason": long_reason},
        ]
    )
    result = run("agreements", "lint", str(write_files([data])))
    lines = [line for line in result.output.splitlines() if "two status changes" in line]
    assert lines and lines[0].endswith("[core.status_changes]")


def test_db_current_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "none" / "r.db"
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{target}", "db", "current"])
    assert result.exit_code == 0
    assert "created on first use" in result.output
    assert not target.exists()


def test_db_commands_on_an_unreachable_database_exit_3() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    for command in (["db", "current"], ["db", "upgrade"]):
        result = CliRunner().invoke(main, ["--database", url, *command])
        assert result.exit_code == 3, (command, result.output)
        assert "cannot reach the database" in result.output


def test_db_upgrade_refuses_a_newer_schema(run, db_url: str) -> None:
    import sqlalchemy as sa

    run("db", "upgrade")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    result = run("db", "upgrade")
    assert result.exit_code == 3
    assert "newer version of the registry" in result.output
    assert "upgrade the program" in run("db", "current").output
