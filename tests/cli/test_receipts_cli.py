"""``registry receipts`` and the receipt in ``registry check``'s output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(tmp_path / "signing-key.pem"))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None, database: str = db_url):  # type: ignore[no-untyped-def]
        return runner.invoke(
            main, ["--database", database, *args], input=stdin, catch_exceptions=False
        )

    invoke("agreements", "load", str(AGREEMENTS))
    return invoke


def _allowed(run, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request(records=[record(1)])))
    result = run("check", "--json", str(path))
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["receipt"].count(".") == 1
    return decision  # type: ignore[no-any-return]


def test_check_prints_the_receipt_of_an_allowed_decision(run, tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request(records=[record(1)])))
    result = run("check", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2].startswith("receipt ey")


def test_check_json_has_no_receipt_when_denied(run, tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request(purpose="tax-administration")))
    result = run("check", "--json", str(path))
    assert result.exit_code == 1
    assert "receipt" not in json.loads(result.stdout)


def test_verify_prints_what_the_receipt_vouches_for(run, tmp_path: Path) -> None:
    decision = _allowed(run, tmp_path)
    result = run("receipts", "verify", decision["receipt"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"VALID receipt of decision {decision['decision_id']}")
    assert "irs-ice-2025-mou v1" in result.output


def test_verify_json_is_the_payload(run, tmp_path: Path) -> None:
    decision = _allowed(run, tmp_path)
    result = run("receipts", "verify", "--json", decision["receipt"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["decision_id"] == decision["decision_id"]
    assert payload["fields"] == ["taxpayer.name", "taxpayer.address"]
    assert payload["record_count"] == 1


def test_verify_offline_from_a_file_with_the_listed_keys(run, tmp_path: Path) -> None:
    decision = _allowed(run, tmp_path)
    keys = run("receipts", "keys")
    assert keys.exit_code == 0
    [key] = json.loads(keys.stdout)
    assert key["algorithm"] == "Ed25519"
    (tmp_path / "keys.json").write_text(keys.stdout)
    (tmp_path / "receipt.txt").write_text(decision["receipt"] + "\n")
    nowhere = f"sqlite:///{tmp_path / 'never-created' / 'x.db'}"
    result = run(
        "receipts",
        "verify",
        "--file",
        str(tmp_path / "receipt.txt"),
        "--keys",
        str(tmp_path / "keys.json"),
        database=nowhere,
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "never-created").exists()  # no database was needed


def test_verify_from_stdin(run, tmp_path: Path) -> None:
    decision = _allowed(run, tmp_path)
    result = run("receipts", "verify", "--file", "-", stdin=decision["receipt"])
    assert result.exit_code == 0, result.output


def test_an_altered_receipt_exits_1_with_the_reason(run, tmp_path: Path) -> None:
    receipt = _allowed(run, tmp_path)["receipt"]
    body, signature = receipt.split(".")
    altered = f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    result = run("receipts", "verify", altered)
    assert result.exit_code == 1
    assert "error: invalid receipt: the signature does not match" in result.stderr


def test_garbage_exits_1_with_the_reason(run) -> None:
    result = run("receipts", "verify", "not-a-receipt")
    assert result.exit_code == 1
    assert "two base64url parts" in result.stderr


def test_a_receipt_both_given_and_in_a_file_is_bad_usage(run, tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("x.y")
    assert run("receipts", "verify", "x.y", "--file", str(tmp_path / "r.txt")).exit_code == 2
    assert run("receipts", "verify").exit_code == 2


def test_a_bad_keys_file_exits_2(run, tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text("[1]")
    result = run("receipts", "verify", "x.y", "--keys", str(tmp_path / "keys.json"))
    assert result.exit_code == 2
    assert "key_id and public_key" in result.stderr


def test_keys_table(run, tmp_path: Path) -> None:
    _allowed(run, tmp_path)
    result = run("receipts", "keys", "--format", "table")
    assert result.exit_code == 0
    assert "Ed25519" in result.output


def test_show_prints_the_same_receipt_again(run, tmp_path: Path) -> None:
    decision = _allowed(run, tmp_path)
    result = run("receipts", "show", decision["decision_id"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == decision["receipt"]


def test_show_of_a_cancelled_decision_exits_2(run, tmp_path: Path) -> None:
    decision = _allowed(run, tmp_path)
    run("decisions", "cancel", decision["decision_id"], "--reason", "not sent")
    result = run("receipts", "show", decision["decision_id"])
    assert result.exit_code == 2
    assert "has no receipt" in result.stderr
