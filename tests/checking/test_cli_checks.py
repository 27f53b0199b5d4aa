"""``registry check``, ``decisions`` and ``disclosures`` from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS


@pytest.fixture
def run(db_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(
            main, ["--database", db_url, *args], input=stdin, catch_exceptions=False
        )

    invoke("agreements", "load", str(AGREEMENTS))
    return invoke


def _write(tmp_path: Path, name: str, value: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def test_check_allowed_exits_0(run, tmp_path: Path) -> None:
    result = run("check", _write(tmp_path, "req.json", request(records=[record(1)])))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ALLOWED: 1 record(s) from irs-itin-address to dhs-ice")


def test_check_denied_exits_1_with_reasons(run, tmp_path: Path) -> None:
    bad = record(1)
    bad["taxpayer"]["address"] = "20500"
    result = run("check", _write(tmp_path, "req.json", request(records=[record(0), bad])))
    assert result.exit_code == 1
    assert "DENIED" in result.output
    assert "irc6103.address_incomplete [taxpayer.address]" in result.output
    assert "records: 1" in result.output


def test_check_json_output_is_the_decision(run, tmp_path: Path) -> None:
    result = run("check", "--json", _write(tmp_path, "r.json", request(purpose="x-purpose")))
    assert result.exit_code == 1
    decision = json.loads(result.stdout)
    assert decision["allowed"] is False
    assert decision["reasons"][0]["code"] == "purpose_not_permitted"


def test_check_from_stdin(run) -> None:
    result = run("check", "-", stdin=json.dumps(request(record_count=1)))
    assert result.exit_code == 0, result.output


def test_check_invalid_input_exits_2_naming_the_field(run, tmp_path: Path) -> None:
    result = run("check", _write(tmp_path, "r.json", request(record_count=-1)))
    assert result.exit_code == 2
    assert "record_count" in result.output
    assert run("decisions", "list", "--format", "json").stdout.strip() == "[]"


def test_check_with_streamed_records(run, tmp_path: Path) -> None:
    lines = "".join(json.dumps(record(i)) + "\n" for i in range(300))
    (tmp_path / "records.ndjson").write_text(lines + json.dumps(record(301, taxable_periods=[])))
    req = _write(tmp_path, "r.json", request())
    result = run("check", req, "--records", str(tmp_path / "records.ndjson"), "--json")
    assert result.exit_code == 1
    reasons = json.loads(result.stdout)["reasons"]
    assert [(r["code"], r["records"]) for r in reasons] == [("record_invalid", [300])]
    (tmp_path / "good.ndjson").write_text(lines)
    ok = run("check", req, "--records", str(tmp_path / "good.ndjson"))
    assert ok.exit_code == 0, ok.output


def test_check_with_a_broken_records_file_exits_2(run, tmp_path: Path) -> None:
    (tmp_path / "bad.ndjson").write_text(json.dumps(record(1)) + "\n{oops\n")
    result = run(
        "check", _write(tmp_path, "r.json", request()), "--records", str(tmp_path / "bad.ndjson")
    )
    assert result.exit_code == 2
    assert "bad.ndjson:2: not JSON" in result.output


def test_decisions_list_show_cancel(run, tmp_path: Path) -> None:
    result = run("check", "--json", _write(tmp_path, "r.json", request(record_count=3)))
    decision_id = json.loads(result.stdout)["decision_id"]
    listed = json.loads(run("decisions", "list", "--format", "json").stdout)
    assert [d["decision_id"] for d in listed] == [decision_id]
    shown = run("decisions", "show", decision_id)
    assert "ALLOWED: 3 record(s)" in shown.output
    cancelled = run("decisions", "cancel", decision_id, "--reason", "export failed")
    assert cancelled.exit_code == 0
    assert "3 record(s) released" in cancelled.output
    assert "(cancelled)" in run("decisions", "show", decision_id).output
    again = run("decisions", "cancel", decision_id, "--reason", "x")
    assert again.exit_code == 2 and "already cancelled" in again.output


def test_disclosures_by_subject_and_summary(run, tmp_path: Path) -> None:
    run("check", _write(tmp_path, "r.json", request(records=[record(5), record(6)])))
    by_person = run("disclosures", "--subject", "100000005", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(by_person.stdout)))
    assert len(rows) == 1
    assert rows[0]["recipient"].startswith("U.S. Immigration and Customs Enforcement")
    assert rows[0]["recipient address"].startswith("500 12th St SW")
    assert rows[0]["purpose"] == "nontax-criminal-investigation"
    assert "26 U.S.C. 6103(i)(2)" in rows[0]["authority"]
    assert rows[0]["agreement"] == "irs-ice-2025-mou" and rows[0]["version"] == "1"
    nobody = run("disclosures", "--subject", "999999999", "--format", "json")
    assert json.loads(nobody.stdout) == []
    summary = json.loads(run("disclosures", "--summary", "--format", "json").stdout)
    assert [(s["agreement"], s["transfers"], s["records"], s["people"]) for s in summary] == [
        ("irs-ice-2025-mou", 1, 2, 2)
    ]
